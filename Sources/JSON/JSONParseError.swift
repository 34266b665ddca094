/// Why a document is not acceptable JSON, and where: 1-based line and column (in Unicode scalars),
/// and the 0-based byte offset.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(message: String, line: Int, column: Int, offset: Int) {
        self.message = message
        self.line = line
        self.column = column
        self.offset = offset
    }

    public var description: String { "\(message) at line \(line), column \(column)" }
}

/// Bounds the parser enforces so that a hostile document cannot exhaust the stack or memory.
public struct JSONParseLimits: Sendable, Equatable {
    /// Deepest nesting of arrays and objects.
    public var maxDepth: Int
    /// Longest string (member names included), in UTF-8 bytes after unescaping.
    public var maxStringBytes: Int
    /// Most values in the whole document (every scalar, array and object counts one).
    public var maxElements: Int

    public init(maxDepth: Int = 64, maxStringBytes: Int = 1 << 20, maxElements: Int = 10_000_000) {
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxElements = maxElements
    }

    /// Depth 64, strings up to 1 MiB, 10 million values: room for per-weight hyperparameter arrays.
    public static let `default` = JSONParseLimits()
}
