/// Reads chosen members of a JSON object without parsing the rest of it.
///
/// A history item may be megabytes (a distillation job stores its learned rows in every item)
/// while a plot needs a few numbers of it. The reader walks the document's bytes once: members
/// that were asked for are parsed alone (by `JSONParser`, strictly), everything else is skipped
/// by scanning its brackets and strings, so the work is one pass over the bytes and the memory is
/// what was asked for. Paths name members of nested objects (`["hyperparameters", "l2"]`).
///
/// Skipping checks only what it needs to find a value's end; a malformed document answers nil
/// or, where the damage lies inside a skipped value, whatever members could be read.
public struct JSONMemberReader: Sendable {
    indirect enum Tree: Sendable {
        case leaf
        case node([String: Tree])
    }

    private let tree: [String: Tree]
    /// A member whose text is longer than this is left out (its value is not parsed).
    public let maxMemberBytes: Int

    /// Reads the members at `paths`; a path that is a prefix of another reads the whole member.
    public init(paths: [[String]], maxMemberBytes: Int = .max) {
        func insert(_ path: ArraySlice<String>, into tree: inout [String: Tree]) {
            guard let first = path.first else { return }
            if path.count == 1 {
                tree[first] = .leaf
                return
            }
            if case .leaf = tree[first] { return }
            var children: [String: Tree] = [:]
            if case .node(let existing) = tree[first] { children = existing }
            insert(path.dropFirst(), into: &children)
            tree[first] = .node(children)
        }
        var tree: [String: Tree] = [:]
        for path in paths { insert(path[...], into: &tree) }
        self.tree = tree
        self.maxMemberBytes = maxMemberBytes
    }

    /// The object in `bytes` reduced to the members asked for (those present and small enough),
    /// with the bytes of their text; nil when `bytes` does not hold a JSON object.
    public func read(_ bytes: some Collection<UInt8>) -> (object: JSONObject, memberBytes: Int)? {
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in
            var scanner = Scanner(bytes: buffer, maxMemberBytes: maxMemberBytes)
            return scanner.object(tree).map { ($0, scanner.memberBytes) }
        }) {
            return result
        }
        return read(Array(bytes))
    }

    /// The object in `text` reduced to the members asked for, with the bytes of their text.
    public func read(_ text: String) -> (object: JSONObject, memberBytes: Int)? {
        var text = text
        return text.withUTF8 { read($0) }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxMemberBytes: Int
        var index = 0
        /// Bytes of the members parsed so far.
        var memberBytes = 0

        init(bytes: UnsafeBufferPointer<UInt8>, maxMemberBytes: Int) {
            self.bytes = bytes
            self.maxMemberBytes = maxMemberBytes
        }

        private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        private static let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
        private static let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
        private static let comma = UInt8(ascii: ","), colon = UInt8(ascii: ":")

        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        private mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        /// Past the string starting at `index` (its opening quote); false if it never ends.
        private mutating func skipString() -> Bool {
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case Self.backslash: index += 2
                case Self.quote:
                    index += 1
                    return true
                default: index += 1
                }
            }
            return false
        }

        /// Past the value starting at `index`; false if it never ends.
        private mutating func skipValue() -> Bool {
            guard let first = current else { return false }
            switch first {
            case Self.quote:
                return skipString()
            case Self.openBrace, Self.openBracket:
                var depth = 0
                while let byte = current {
                    switch byte {
                    case Self.quote:
                        guard skipString() else { return false }
                        continue
                    case Self.openBrace, Self.openBracket: depth += 1
                    case Self.closeBrace, Self.closeBracket:
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return true
                        }
                    default: break
                    }
                    index += 1
                }
                return false
            default:
                // A number, true, false or null: up to the next delimiter.
                while let byte = current, byte != Self.comma, byte != Self.closeBrace, byte != Self.closeBracket,
                    byte != 0x20, byte != 0x0A, byte != 0x0D, byte != 0x09
                {
                    index += 1
                }
                return true
            }
        }

        /// The member name starting at `index`, decoded.
        private mutating func key() -> String? {
            guard current == Self.quote else { return nil }
            let start = index
            guard skipString() else { return nil }
            let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
            if !raw.contains(Self.backslash) {
                return String(decoding: UnsafeBufferPointer(rebasing: raw.dropFirst().dropLast()), as: UTF8.self)
            }
            return (try? JSONValue.parse(raw))?.stringValue
        }

        /// The object at `index` with only the members of `tree`.
        mutating func object(_ tree: [String: Tree]) -> JSONObject? {
            skipSpace()
            guard current == Self.openBrace else { return nil }
            index += 1
            var result = JSONObject()
            skipSpace()
            if current == Self.closeBrace {
                index += 1
                return result
            }
            while true {
                skipSpace()
                guard let name = key() else { return nil }
                skipSpace()
                guard current == Self.colon else { return nil }
                index += 1
                skipSpace()
                let start = index
                switch tree[name] {
                case .leaf:
                    guard skipValue() else { return nil }
                    if index - start <= maxMemberBytes,
                        let value = try? JSONValue.parse(UnsafeBufferPointer(rebasing: bytes[start..<index]))
                    {
                        result[name] = value
                        memberBytes += index - start
                    }
                case .node(let children) where current == Self.openBrace:
                    guard let inner = object(children) else { return nil }
                    result[name] = .object(inner)
                default:
                    guard skipValue() else { return nil }
                }
                skipSpace()
                switch current {
                case Self.comma: index += 1
                case Self.closeBrace:
                    index += 1
                    return result
                default: return nil
                }
            }
        }
    }
}
