/// The lease owner a worker claims as: `NODE/BOOT/WORKER` (see `LeaseOwner`), stored in
/// `jobs.lease_owner`. A type of its own so that it cannot be swapped with a `JobID`.
public struct WorkerID: RawRepresentable, Hashable, Sendable, ExpressibleByStringInterpolation, CustomStringConvertible
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }
}
