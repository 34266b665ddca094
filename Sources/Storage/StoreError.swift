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
    /// The SQLite file was deleted or replaced while the service had it open: writes would go to
    /// a file nobody will ever open again, so the store refuses them.
    case databaseFileGone(path: String)
    /// The database accepts no writes (for example a PostgreSQL standby after a failover).
    case readOnly(String)
    /// The database cannot be reached (known down, or a connect failed): answered at once
    /// instead of waiting out retries.
    case unavailable(String)
    /// Every pooled connection stayed busy until the caller's deadline.
    case connectionWaitTimedOut

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
        case .databaseFileGone(let path):
            return "database file \(path) was deleted or replaced while the service ran; refusing writes "
                + "that would be lost: restore the file or restart the service"
        case .readOnly(let location):
            return "database \(location) accepts no writes (read-only or a standby)"
        case .unavailable(let reason):
            return "the database is unavailable: \(reason)"
        case .connectionWaitTimedOut:
            return "no database connection became free in time"
        }
    }
}
