import HTTPServer
import JSON
import Storage
import Synchronization

/// How the API follows the node's database health: requests that need the database answer 503
/// at once while it is known down; readiness and metrics read the health from memory.
extension RewindAPI {
    /// 503 with `Retry-After` before anything else runs (authentication looks keys up in the
    /// database too) when `route` needs a database known to be down; nil otherwise.
    func databaseGate(_ route: Route) -> Authentication? {
        guard store.health.isKnownDown, route.options.usesDatabase else { return nil }
        return .denied(APIError.storageUnavailable.response)
    }

    /// `/readyz`'s database check: `ok`, `unavailable` or `refusing writes`.
    static func databaseCheck(_ health: DatabaseHealth) -> String {
        switch health.condition {
        case .up: "ok"
        case .down: "unavailable"
        case .refusingWrites: "refusing writes"
        }
    }

    /// The database families of `/metrics`, all read from memory.
    static func registerDatabaseCollectors(_ metrics: Metrics, health: DatabaseHealth) {
        metrics.registerGaugeCollector(
            name: Metrics.Name.databaseUp, help: "1 while the database answers reads and accepts writes, else 0."
        ) {
            [([:], health.isUp ? 1 : 0)]
        }
        metrics.registerGaugeCollector(
            name: Metrics.Name.databaseLastGoodQuery,
            help: "Seconds since a database query last succeeded on this node (-1: none yet)."
        ) {
            [([:], health.secondsSinceLastGoodQuery ?? -1)]
        }
        metrics.registerGaugeCollector(
            name: Metrics.Name.databasePoolWaiters, help: "Callers waiting for a pooled database connection."
        ) {
            [([:], Double(health.poolWaiters))]
        }
    }
}

/// The last job counts read, for scrapes while the database is away.
final class JobCountsCache: Sendable {
    private let counts = Mutex<[JobStatus: Int]>([:])

    /// Fresh counts while the database is up, the last ones read otherwise.
    func counts(_ store: any Store) -> [JobStatus: Int] {
        if store.health.isUp, let fresh = try? store.jobCounts() {
            counts.withLock { $0 = fresh }
            return fresh
        }
        return counts.withLock { $0 }
    }
}
