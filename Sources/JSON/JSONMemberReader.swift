/// Reads chosen members of a JSON object without parsing the rest of it.
///
/// A history item may be megabytes (a distillation job stores its learned rows in every item)
/// while a plot needs a few numbers of it. The reader walks the document's bytes once: members
/// that were asked for are parsed alone (by `JSONParser`, strictly), everything else is skipped
/// by scanning its brackets and strings, so the work is one pass over the bytes and the memory is
/// what was asked for. Paths name members of nested objects (`["hyperparameters", "l2"]`).
///
/// The walk stops as soon as every member asked for has been read: members that come first in a
/// document (a history item's numbers and hyperparameter groups come before its learned rows) cost
/// the bytes before them, not the whole document. Skipping checks only what it needs to find a
/// value's end, and nothing after the last member read is looked at: a malformed document answers
/// nil or whatever members could be read before the damage.
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
            var scanner = Scanner(bytes: buffer, maxMemberBytes: maxMemberBytes, parses: true)
            return scanner.object(tree, stopWhenDone: true).map { ($0, scanner.memberBytes) }
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

    /// The bytes of the text of the members `read` would parse, found without parsing them (so
    /// that a caller can hold memory for their parsed form first); nil as for `read`.
    public func memberBytes(_ text: String) -> Int? {
        var text = text
        return text.withUTF8 { buffer in
            var scanner = Scanner(bytes: buffer, maxMemberBytes: maxMemberBytes, parses: false)
            return scanner.object(tree, stopWhenDone: true).map { _ in scanner.memberBytes }
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxMemberBytes: Int
        /// False: members are measured, not parsed.
        let parses: Bool
        var index = 0
        /// Bytes of the members parsed (or measured) so far.
        var memberBytes = 0
        /// Set when an object returned as soon as it had every member asked for, before its end.
        var stoppedEarly = false

        init(bytes: UnsafeBufferPointer<UInt8>, maxMemberBytes: Int, parses: Bool) {
            self.bytes = bytes
            self.maxMemberBytes = maxMemberBytes
            self.parses = parses
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

        /// The object at `index` with only the members of `tree`; with `stopWhenDone`, it returns
        /// as soon as it has read every one of them (setting `stoppedEarly`), without finding its end.
        mutating func object(_ tree: [String: Tree], stopWhenDone: Bool) -> JSONObject? {
            skipSpace()
            guard current == Self.openBrace else { return nil }
            index += 1
            var result = JSONObject()
            var remaining = Set(tree.keys)
            if stopWhenDone && remaining.isEmpty {
                stoppedEarly = true
                return result
            }
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
                let last = stopWhenDone && remaining.count == 1 && remaining.contains(name)
                switch tree[name] {
                case .leaf:
                    guard skipValue() else { return nil }
                    remaining.remove(name)
                    guard index - start <= maxMemberBytes else { break }
                    if !parses {
                        memberBytes += index - start
                    } else if let value = try? JSONValue.parse(UnsafeBufferPointer(rebasing: bytes[start..<index])) {
                        result[name] = value
                        memberBytes += index - start
                    }
                case .node(let children) where current == Self.openBrace:
                    guard let inner = object(children, stopWhenDone: last) else { return nil }
                    result[name] = .object(inner)
                    remaining.remove(name)
                    if stoppedEarly { return result }
                default:
                    guard skipValue() else { return nil }
                }
                if last && remaining.isEmpty {
                    stoppedEarly = true
                    return result
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
