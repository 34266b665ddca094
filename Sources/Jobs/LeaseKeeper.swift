import Dispatch
import Foundation
import Storage
import Synchronization

/// Renews one running job's lease from a thread of its own, every heartbeat interval, whatever
/// the worker thread is doing: training, evaluating, encoding a large item or waiting on a slow
/// commit. Renewals tied to inner steps alone starved while a large item was written, and the
/// job was lost (`worker_lost`) though its worker was alive.
///
/// The worker thread reads what the renewals learnt (`verdict`) between inner steps and stops on
/// a lost lease or a cancellation request.
final class LeaseKeeper: Sendable {
    /// What a renewal learnt that the worker must act on.
    enum Verdict: Sendable, Equatable {
        case held, lost, cancelRequested
    }

    private struct State {
        var fraction: Double
        var verdict = Verdict.held
        var stopping = false
    }

    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    /// Starts renewing at once on a thread of its own; `stop()` must be called.
    init(runner: JobRunner, jobID: JobID, worker: WorkerID, fraction: Double) {
        state = Mutex(State(fraction: fraction))
        let interval = DispatchTimeInterval.milliseconds(Int(runner.configuration.heartbeatIntervalMs))
        Thread.detachNewThread { [self] in
            while wake.wait(timeout: .now() + interval) == .timedOut {
                let fraction = state.withLock { $0.fraction }
                let verdict: Verdict
                do {
                    switch try runner.store.heartbeat(
                        jobID: jobID, worker: worker, nowMs: runner.clock(), leaseMs: runner.configuration.leaseMs,
                        progressFraction: fraction)
                    {
                    case .lost: verdict = .lost
                    case .held(let cancelRequested): verdict = cancelRequested ? .cancelRequested : .held
                    }
                } catch {
                    // A busy or failing disk must not kill training; the lease is long enough to retry.
                    runner.log("heartbeat failed", ["job_id": jobID.rawValue, "error": "\(error)"])
                    continue
                }
                let stopping = state.withLock { state in
                    if state.verdict == .held { state.verdict = verdict }
                    return state.stopping
                }
                if stopping || verdict == .lost { break }
            }
            done.signal()
        }
    }

    /// The progress the next renewal records.
    func record(fraction: Double) {
        state.withLock { $0.fraction = max($0.fraction, fraction) }
    }

    /// `.held` until a renewal found the lease lost or a cancellation requested.
    var verdict: Verdict { state.withLock { $0.verdict } }

    /// Stops renewing and waits for a renewal in flight to end.
    func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
        done.wait()
    }
}
