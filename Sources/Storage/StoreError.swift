/// Failures of the store that are not SQLite errors.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store was closed; callers at the HTTP edge answer 503.
    case closed
    /// `PRAGMA quick_check` found damage: refuse to start rather than make it worse.
    case integrityCheckFailed(path: String, details: String)
    /// The file refused WAL mode (for example on a network file system).
    case walUnavailable(path: String, journalMode: String)
    /// A page token that this store did not issue, or issued for another filter.
    case invalidPageToken

    public var description: String {
        switch self {
        case .closed:
            return "the store is closed"
        case let .integrityCheckFailed(path, details):
            return "database \(path) failed its integrity check: \(details)"
        case let .walUnavailable(path, journalMode):
            return "database \(path) cannot use WAL (journal mode is \(journalMode)); "
                + "keep it on a local file system"
        case .invalidPageToken:
            return "the page token is not valid for this listing"
        }
    }
}
