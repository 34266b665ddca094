/// What the caller supplies to store a parsed, validated dataset.
public struct NewDataset: Sendable, Equatable {
    public var id: String
    public var name: String
    public var rows: Int
    public var features: Int
    public var classes: Int
    /// Lower-case hex SHA-256 of the uploaded bytes; a second upload of the same bytes dedupes.
    public var sha256: String
    /// The parsed values, encoded by the caller; opaque to storage.
    public var content: [UInt8]
    public var builtin: Bool
    /// The principal that uploaded it; built-ins are everyone's.
    public var owner: String
    /// What the upload turned out to hold (JSON, opaque to storage): header, labels, ranges.
    public var profile: String?
    /// The shape of each row as an image, `[height, width, channels]`; nil for a table.
    public var shape: [Int]?

    public init(
        id: String, name: String, rows: Int, features: Int, classes: Int, sha256: String,
        content: [UInt8], builtin: Bool = false, owner: String = Principal.anonymous, profile: String? = nil,
        shape: [Int]? = nil
    ) {
        self.owner = owner
        self.profile = profile
        self.shape = shape
        self.id = id
        self.name = name
        self.rows = rows
        self.features = features
        self.classes = classes
        self.sha256 = sha256
        self.content = content
        self.builtin = builtin
    }
}

/// A stored dataset's metadata (its content is read separately, only when a job needs it).
public struct DatasetRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var rows: Int
    public var features: Int
    public var classes: Int
    public var sha256: String
    public var builtin: Bool
    public var createdMs: Int64
    /// Size of the stored content.
    public var contentBytes: Int
    /// The principal that uploaded it; built-ins are everyone's.
    public var owner: String = Principal.anonymous
    /// What the upload turned out to hold (JSON), or nil (stored before migration 0007, built-ins).
    public var profile: String?
    /// The shape of each row as an image, `[height, width, channels]`; nil for a table (and for
    /// data sets stored before migration 0008).
    public var shape: [Int]? = nil
}

extension DatasetRecord {
    /// The stored form of a shape: "28,28,1", or NULL for a table.
    static func shapeText(_ shape: [Int]?) -> SQLValue {
        shape.map { .text($0.map(String.init).joined(separator: ",")) } ?? .null
    }

    /// A stored shape, or nil when it is not one (three positive sizes).
    static func shape(text: String) -> [Int]? {
        let sizes = text.split(separator: ",").compactMap { Int($0) }
        guard sizes.count == 3, sizes.allSatisfy({ $0 > 0 }) else { return nil }
        return sizes
    }
}

/// The answer to `Store.insertDataset`.
public enum InsertDatasetOutcome: Sendable, Equatable {
    case created(DatasetRecord)
    /// A dataset with the same SHA-256 exists: it is answered instead, nothing is written.
    case existing(DatasetRecord)
}

/// The answer to `Store.deleteDataset`.
public enum DeleteDatasetOutcome: Sendable, Equatable {
    case deleted
    /// A queued or running job references it.
    case inUse
    /// Built-in datasets are part of the service and cannot be deleted.
    case builtin
    case notFound
}
