/// A job's id, as the store's queue and lease methods take it: a type of its own, so that a job
/// id and a worker id can never be passed in each other's place.
///
/// Records and the HTTP layer keep the plain text (`JobRecord.id`); callers wrap it at the
/// store's boundary (`JobID(record.id)`); string literals convert on their own.
public struct JobID:
    RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByStringInterpolation, CustomStringConvertible
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }

    /// In the order of the text: `TimeOrderedID`s sort by creation.
    public static func < (lhs: JobID, rhs: JobID) -> Bool { lhs.rawValue < rhs.rawValue }
}
