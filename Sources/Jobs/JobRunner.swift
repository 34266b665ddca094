import Dispatch
import Foundation
import NodeResources
import Storage
import Synchronization
import Tuning

/// The bounded worker pool: `workers` Dispatch queues, each claiming one job at a time from the
/// store, running it meta-iteration by meta-iteration, committing each one durably.
///
/// Lifecycle: `start()` re-queues the orphans of earlier processes and starts the workers and the
/// reaper; `shutdown(timeout:)` makes every running job checkpoint at its next inner step and hand
/// itself back to the queue, then waits for the workers to exit.
public final class JobRunner: Sendable {
    let store: Store
    let configuration: JobsConfiguration
    let clock: MillisecondClock
    let log: JobLog
    let datasets: StoreDatasetResolver
    public let events: JobEventHub
    /// Tells other nodes about queued jobs, cancellations and events (nothing on SQLite).
    let notifier: StoreNotifier

    private struct State {
        var started = false
        var stopping = false
        /// Jobs whose cancellation arrived through this process: stopped at the next inner step.
        var cancelled: Set<String> = []
        /// Job id per busy worker.
        var running: [Int: String] = [:]
    }

    private let state = Mutex(State())
    let wake = DispatchSemaphore(value: 0)
    private let reaperWake = DispatchSemaphore(value: 0)
    private let workersDone = DispatchGroup()

    public init(
        store: Store, configuration: JobsConfiguration, events: JobEventHub = JobEventHub(),
        clock: @escaping MillisecondClock = JobRunner.wallClock, log: @escaping JobLog = { _, _ in },
        notifier: StoreNotifier = LocalNotifier()
    ) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.log = log
        self.events = events
        self.notifier = notifier
        datasets = StoreDatasetResolver(store: store)
        if notifier.crossesNodes {
            events.setRelay { jobID, event in notifier.send(.jobEvent(jobID: jobID, payload: event.wireText)) }
        }
    }

    /// Milliseconds since the Unix epoch.
    public static let wallClock: MillisecondClock = { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Re-queues the jobs this node's earlier boots left running and the expired leases of any
    /// node, then starts the workers and the reaper.
    public func start() throws {
        let recovered = try store.requeueOrphans(
            nodeID: configuration.nodeID, bootID: configuration.bootID, nowMs: clock())
        for job in recovered {
            log("job recovered", ["job_id": job.id.rawValue, "status": job.status.rawValue])
            events.publish(jobID: job.id.rawValue, .status(job.status.rawValue))
        }
        reap()
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        precondition(!alreadyStarted, "JobRunner.start() called twice")
        for index in 0..<configuration.workers {
            workersDone.enter()
            DispatchQueue(label: "rewind.worker.\(index)", qos: .utility).async {
                self.workerLoop(index: index)
                self.workersDone.leave()
            }
        }
        workersDone.enter()
        DispatchQueue(label: "rewind.reaper", qos: .utility).async {
            let interval = DispatchTimeInterval.milliseconds(Int(self.configuration.reaperIntervalMs))
            while !self.isStopping {
                if self.reaperWake.wait(timeout: .now() + interval) == .timedOut { self.reap() }
            }
            self.workersDone.leave()
        }
        notifier.start { [weak self] notification in self?.received(notification) }
    }

    /// The node's memory budget, which running jobs and the pages the API builds draw from.
    public var memoryBudget: MemoryBudget { configuration.memoryBudget }

    /// The node id this pool's leases carry.
    public var nodeID: String { configuration.nodeID }

    /// Wakes an idle worker: a job was just queued.
    public func jobQueued() {
        wake.signal()
        notifier.send(.jobQueued)
    }

    /// Stops a job running in this process at its next inner step (the store already records the
    /// request, so a job on another process stops at its next heartbeat).
    public func cancel(jobID: String) {
        stopHere(jobID: jobID)
        notifier.send(.cancelRequested(jobID: jobID))
    }

    /// Stops `jobID` if a worker of this process runs it (without telling other nodes).
    /// Only a job a worker here runs is remembered (the set empties as those jobs end); a job
    /// claimed here a moment later learns of the request from its next heartbeat.
    func stopHere(jobID: String) {
        state.withLock { state in
            if state.running.values.contains(jobID) { state.cancelled.insert(jobID) }
        }
    }

    /// True between `start()` and `shutdown`.
    public var isRunning: Bool {
        state.withLock { $0.started && !$0.stopping }
    }

    /// Number of workers busy with a job.
    public var busyWorkers: Int {
        state.withLock { $0.running.count }
    }

    /// Asks every worker to hand its job back and waits for them to exit; false if some were
    /// still busy after `timeout` seconds.
    @discardableResult
    public func shutdown(timeout: Double) -> Bool {
        state.withLock { $0.stopping = true }
        reaperWake.signal()
        for _ in 0..<configuration.workers { wake.signal() }
        let finished = workersDone.wait(timeout: .now() + timeout) == .success
        notifier.close()
        return finished
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    func isCancelled(_ jobID: String) -> Bool {
        state.withLock { $0.cancelled.contains(jobID) }
    }

    private func workerLoop(index: Int) {
        let worker = LeaseOwner.worker(nodeID: configuration.nodeID, bootID: configuration.bootID, index: index)
        while !isStopping {
            // No claims while the database is down or refuses writes (the node logs the change):
            // wait for it to come back, as readiness does.
            guard store.health.isUp else {
                _ = store.health.waitUntilUp(timeout: .milliseconds(configuration.idlePollMs))
                continue
            }
            let claimed: ClaimedJob?
            do {
                claimed = try store.claimJob(worker: worker, nowMs: clock(), leaseMs: configuration.leaseMs)
            } catch {
                // A deleted database file or a read-only database stops all work: say so loudly.
                let level = (error as? StoreError).map { _ in "claim refused, not taking work" } ?? "claim failed"
                log(level, ["worker": worker.rawValue, "error": "\(error)"])
                _ = wake.wait(timeout: .now() + .milliseconds(configuration.idlePollMs))
                continue
            }
            guard let claimed else {
                _ = wake.wait(timeout: .now() + .milliseconds(configuration.idlePollMs))
                continue
            }
            state.withLock { $0.running[index] = claimed.job.id }
            log(
                "job started",
                ["job_id": claimed.job.id, "worker": worker.rawValue, "attempt": "\(claimed.job.attempt)"])
            let outcome = JobExecution(runner: self, worker: worker, claimed: claimed).run()
            state.withLock { state in
                state.running[index] = nil
                state.cancelled.remove(claimed.job.id)
            }
            if outcome == .waitingForMemory {
                // Not straight back to the queue's head: let a running job end (or another node claim).
                _ = wake.wait(timeout: .now() + .milliseconds(max(configuration.idlePollMs, 500)))
            }
        }
    }

    private func reap() {
        do {
            for job in try store.reapExpiredLeases(nowMs: clock()) {
                log("lease expired", ["job_id": job.id.rawValue, "status": job.status.rawValue])
                events.publish(jobID: job.id.rawValue, .status(job.status.rawValue))
                // Idle workers here and on other nodes look again (once its back-off has passed).
                if job.status == .queued { jobQueued() }
            }
        } catch {
            log("reaper failed", ["error": "\(error)"])
        }
    }
}

/// Structured log sink: a message and its fields.
public typealias JobLog = @Sendable (_ message: String, _ fields: [String: String]) -> Void
