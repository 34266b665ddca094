import Foundation
import RewindTestSupport
import Storage
import Synchronization
import Testing

/// Signals between nodes: `LISTEN`/`NOTIFY` on PostgreSQL, in order, never echoed to the sender,
/// and still flowing after PostgreSQL restarts; nothing to send on SQLite.
@Suite("Store notifiers", .serialized)
struct StoreNotifierTests {
    /// What a notifier delivered, collected from its thread.
    final class Inbox: Sendable {
        let received = Mutex<[StoreNotification]>([])
        var signals: [StoreSignal] {
            received.withLock { $0.compactMap { if case .signal(let signal) = $0 { signal } else { nil } } }
        }
        var resynchronizations: Int { received.withLock { $0.filter { $0 == .resynchronize }.count } }

        func wait(until condition: () -> Bool) -> Bool {
            let deadline = ContinuousClock.now + .seconds(30)
            while !condition(), ContinuousClock.now < deadline { usleep(2_000) }
            return condition()
        }
    }

    @Test func sqliteHasNoOtherNodeToTell() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-notifier")
        let store = try SQLiteStore(path: directory.file("rewind.sqlite"), nowMs: 0)
        defer { try? store.close() }
        #expect(store.makeNotifier().crossesNodes == false)
    }

    @Test(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason)))
    func postgresSignalsReachTheOtherNodeInOrderNotTheSenderAndSurviveARestart() throws {
        // A cluster of this test's own: it restarts it.
        let cluster = try PostgresCluster()
        let first = try PostgresStore(url: cluster.url(), nowMs: 0)
        let second = try PostgresStore(url: cluster.url(), nowMs: 0)
        defer {
            try? first.close()
            try? second.close()
        }
        let sender = first.makeNotifier(), listener = second.makeNotifier()
        #expect(sender.crossesNodes && listener.crossesNodes)
        let atSender = Inbox(), atListener = Inbox()
        sender.start { notification in atSender.received.withLock { $0.append(notification) } }
        listener.start { notification in atListener.received.withLock { $0.append(notification) } }
        defer {
            sender.close()
            listener.close()
        }
        #expect(
            atListener.wait { atListener.resynchronizations == 1 } && atSender.wait { atSender.resynchronizations == 1 }
        )

        let sent: [StoreSignal] = [
            .jobQueued, .cancelRequested(jobID: "job-1"), .jobEvent(jobID: "job-1", payload: "p 3 0.375"),
            .jobEvent(jobID: "job-1", payload: "s succeeded with spaces kept"),
        ]
        sent.forEach(sender.send)
        #expect(atListener.wait { atListener.signals.count == sent.count })
        #expect(atListener.signals == sent)
        #expect(atSender.signals.isEmpty, "a node heard its own signals")

        // PostgreSQL restarts: the listener comes back (and says so), the sender re-connects.
        try cluster.restart()
        #expect(atListener.wait { atListener.resynchronizations == 2 }, "the listener did not re-connect")
        sender.send(.jobEvent(jobID: "job-2", payload: "m 0 0.25"))
        #expect(atListener.wait { atListener.signals.count == sent.count + 1 })
        #expect(atListener.signals.last == .jobEvent(jobID: "job-2", payload: "m 0 0.25"))
    }
}
