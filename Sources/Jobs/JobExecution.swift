import Foundation
import JSON
import NodeResources
import Storage
import Tuning

/// Runs one claimed job to its end on the calling worker thread: prepare, then one durable commit
/// per meta-iteration, then finish, fail, cancel or hand back.
struct JobExecution {
    let runner: JobRunner
    let worker: WorkerID
    let claimed: ClaimedJob

    private var job: JobRecord { claimed.job }
    private var store: Store { runner.store }

    /// Why the inner loop was told to stop.
    enum StopReason {
        case shutdown, cancelRequested, leaseLost
    }

    /// State the progress callback updates between inner steps (one thread only).
    final class Monitor {
        var lastBeatMs: Int64
        var stopReason: StopReason?
        var fraction: Double
        /// History items committed so far.
        var done = 0

        init(nowMs: Int64, fraction: Double) {
            lastBeatMs = nowMs
            self.fraction = fraction
        }
    }

    /// How a run ended, for the worker loop.
    enum Outcome {
        case ended
        /// Handed back to the queue because the node's memory budget could not hold it now.
        case waitingForMemory
    }

    @discardableResult
    func run() -> Outcome {
        // Renewed from its own thread from now on: loading the data, training, large commits.
        let keeper = LeaseKeeper(runner: runner, jobID: JobID(job.id), worker: worker, fraction: job.progressFraction)
        defer { keeper.stop() }
        let tuning: any JobRun
        let clock = ContinuousClock()
        let claimedAt = clock.now
        switch prepare() {
        case .success(let prepared):
            tuning = prepared
            // From claim to a run ready to train: data decoded (a built-in once per process), split cut.
            let milliseconds = (clock.now - claimedAt) / .milliseconds(1)
            runner.log("job prepared", ["job_id": job.id, "prepare_ms": String(format: "%.0f", milliseconds)])
        case .failure(let problem):
            finish(.failed, code: "unrecoverable", message: "the job cannot be started: \(problem.detail)")
            return .ended
        }
        let checkpoint = restoredCheckpoint(for: tuning)
        // The node runs a job only while its estimate fits beside the others' (and what requests
        // hold): wait a little for one to end, else give the job back for later or another node.
        let budget = runner.configuration.memoryBudget
        let needed = tuning.memoryEstimate(at: checkpoint.unconstrained).totalBytes
        guard let reservation = budget.reserve(needed, waitingAtMost: Double(runner.configuration.leaseMs) / 3000)
        else {
            if needed > budget.capacity, needed <= runner.configuration.jobMemoryBudget {
                finish(
                    .failed, code: "resource_exhausted",
                    message: "the job needs \(needed) bytes, more than "
                        + "this node's memory budget of \(budget.capacity) bytes")
                return .ended
            }
            if needed <= budget.capacity {
                runner.log(
                    "job waits for memory, handed back",
                    [
                        "job_id": job.id, "estimated_bytes": "\(needed)",
                        "budget_in_use": "\(budget.inUse)",
                    ])
                stopped(.shutdown)
                return .waitingForMemory
            }
            // Past the job budget as well: the check below fails it with the per-job message.
            return runMetaIterations(tuning, from: checkpoint, reservation: nil, keeper: keeper)
        }
        return runMetaIterations(tuning, from: checkpoint, reservation: reservation, keeper: keeper)
    }

    private func runMetaIterations(
        _ tuning: any JobRun, from start: TuningCheckpoint, reservation: MemoryReservation?, keeper: LeaseKeeper
    ) -> Outcome {
        defer { reservation?.release() }
        var checkpoint = start
        let monitor = Monitor(nowMs: runner.clock(), fraction: job.progressFraction)
        let clock = ContinuousClock()
        // The first item's losses, which the overfitting warning compares against.
        var first = checkpoint.nextItem == 0 ? nil : firstItemLosses()
        while !tuning.isComplete(checkpoint) {
            // Momentum is learned and can fall, so the buffer a meta-iteration needs can grow
            // past what admission saw; it is known before training, so check it first.
            let estimate = tuning.memoryEstimate(at: checkpoint.unconstrained)
            if estimate.totalBytes > runner.configuration.jobMemoryBudget || reservation == nil {
                finish(
                    .failed, code: "resource_exhausted",
                    message: "meta-iteration \(checkpoint.nextItem) would need "
                        + "\(estimate.summary), over the job memory budget of \(runner.configuration.jobMemoryBudget) bytes"
                )
                return .ended
            }
            if let reservation, estimate.totalBytes > reservation.bytes,
                !reservation.grow(by: estimate.totalBytes - reservation.bytes)
            {
                // Learned momentum fell and the node cannot hold more now: resume later from here.
                runner.log(
                    "job needs more memory than the node has free, handed back",
                    [
                        "job_id": job.id, "estimated_bytes": "\(estimate.totalBytes)",
                    ])
                stopped(.shutdown)
                return .waitingForMemory
            }
            let started = clock.now
            monitor.done = checkpoint.nextItem
            let outcome: (item: HistoryItem, next: TuningCheckpoint)
            do {
                outcome = try tuning.step(checkpoint) { fraction in
                    self.observe(fraction, monitor: monitor, keeper: keeper)
                }
            } catch .cancelled {
                stopped(monitor.stopReason ?? .cancelRequested)
                return .ended
            } catch {
                finish(.failed, code: error.code, message: error.message)
                return .ended
            }
            var item = outcome.item
            let elapsed = clock.now - started
            item.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            if item.metaIteration == 0 { first = (item.validationLoss, item.testLoss) }
            let warnings =
                tuning.dataWarnings + tuning.outcomeWarnings(latest: item, best: outcome.next.best, first: first)
            guard commit(item: item, next: outcome.next, total: tuning.totalItems, monitor: monitor, warnings: warnings)
            else { return .ended }
            keeper.record(fraction: monitor.fraction)
            checkpoint = outcome.next
        }
        finish(.succeeded)
        return .ended
    }

    /// Spec and data set as the job was accepted with: its canonical spec decoded, its data set by
    /// id. Failing here means the job can never run.
    private func prepare() -> Result<any JobRun, JobRequestError> {
        JobRequest.decodeJob(
            canonicalSpec: job.specJSON, datasets: runner.datasets, threads: runner.configuration.jobThreads)
    }

    /// The committed checkpoint, or the start. A checkpoint that does not decode is ignored: the
    /// run is deterministic, so recomputing from the start rewrites the same history.
    private func restoredCheckpoint(for tuning: any JobRun) -> TuningCheckpoint {
        guard let stored = claimed.checkpoint else { return tuning.initialCheckpoint() }
        guard let checkpoint = try? JSONDecoder().decode(TuningCheckpoint.self, from: Data(stored.state)),
            tuning.fits(checkpoint)
        else {
            runner.log("checkpoint unreadable, restarting", ["job_id": job.id])
            return tuning.initialCheckpoint()
        }
        runner.log("job resumed", ["job_id": job.id, "next_item": "\(checkpoint.nextItem)"])
        noteFingerprint(resumingAt: checkpoint.nextItem)
        return checkpoint
    }

    /// Called once per inner training step: checks for shutdown and cancellation and what the
    /// lease renewals learnt (`LeaseKeeper`), and at most every `heartbeatIntervalMs` publishes
    /// the progress.
    private func observe(_ fraction: Double, monitor: Monitor, keeper: LeaseKeeper) -> Bool {
        monitor.fraction = max(monitor.fraction, fraction)
        keeper.record(fraction: monitor.fraction)
        if runner.isStopping {
            monitor.stopReason = .shutdown
            return false
        }
        if runner.isCancelled(job.id) {
            monitor.stopReason = .cancelRequested
            return false
        }
        switch keeper.verdict {
        case .lost:
            monitor.stopReason = .leaseLost
            return false
        case .cancelRequested:
            monitor.stopReason = .cancelRequested
            return false
        case .held:
            break
        }
        let now = runner.clock()
        guard now - monitor.lastBeatMs >= runner.configuration.heartbeatIntervalMs else { return true }
        monitor.lastBeatMs = now
        runner.events.publish(jobID: job.id, .progress(done: monitor.done, fraction: monitor.fraction))
        return true
    }

    /// One transaction: history row, progress, latest and best, checkpoint. False if the job must stop.
    private func commit(
        item: HistoryItem, next: TuningCheckpoint, total: Int, monitor: Monitor, warnings: [JobWarning]
    ) -> Bool {
        // Item counts weigh the last item (forward only) like the others; inner steps do not, so
        // keep whichever is further: progress never goes backwards, in the store or in events.
        let fraction = max(monitor.fraction, Double(next.nextItem) / Double(total))
        monitor.fraction = fraction
        do {
            let row = HistoryRow(
                metaIteration: item.metaIteration,
                itemJSON: Self.itemJSON(item, fingerprint: runner.configuration.numericFingerprint),
                trainingLoss: item.trainingLoss.finite, validationLoss: item.validationLoss.finite,
                validationError: item.validationError.finite, hypergradientNorm: item.hypergradient?.norm,
                seconds: item.seconds, createdMs: runner.clock())
            let committed = try store.commitMetaIteration(
                jobID: JobID(job.id), worker: worker, item: row, checkpoint: Array(try JSONEncoder().encode(next)),
                progressDone: next.nextItem, progressFraction: fraction,
                latestJSON: Self.latestJSON(item, warnings: warnings),
                bestJSON: next.best.map(Self.bestJSON), nowMs: runner.clock(), leaseMs: runner.configuration.leaseMs)
            guard committed else {
                runner.log("lease lost, stopping", ["job_id": job.id, "worker": worker.rawValue])
                return false
            }
        } catch {
            runner.log("commit failed, handing the job back", ["job_id": job.id, "error": "\(error)"])
            abandon()
            return false
        }
        runner.events.publish(jobID: job.id, .metaIteration(item.metaIteration, seconds: item.seconds))
        runner.events.publish(jobID: job.id, .progress(done: next.nextItem, fraction: fraction))
        return true
    }

    private func stopped(_ reason: StopReason) {
        switch reason {
        case .leaseLost:
            runner.log("lease lost, stopping", ["job_id": job.id, "worker": worker.rawValue])
        case .cancelRequested:
            finish(.cancelled)
        case .shutdown:
            do {
                if try store.releaseJob(jobID: JobID(job.id), worker: worker, nowMs: runner.clock()) {
                    runner.log("job handed back", ["job_id": job.id])
                    runner.events.publish(jobID: job.id, .status(JobStatus.queued.rawValue))
                }
            } catch {
                runner.log(
                    "hand-back failed; the next start recovers the job", ["job_id": job.id, "error": "\(error)"])
            }
        }
    }

    /// Gives the job up at once after a failed write, so that another attempt (here or on another
    /// node) can start without waiting for the lease to expire. If even that write fails, the
    /// lease expires and the reaper recovers the job.
    private func abandon() {
        do {
            if let recovered = try store.abandonJob(jobID: JobID(job.id), worker: worker, nowMs: runner.clock()) {
                runner.log(
                    "job handed back after a failed commit", ["job_id": job.id, "status": recovered.status.rawValue])
                runner.events.publish(jobID: job.id, .status(recovered.status.rawValue))
            }
        } catch {
            runner.log("hand-back failed; the lease will expire", ["job_id": job.id, "error": "\(error)"])
        }
    }

    private func finish(_ status: JobStatus, code: String? = nil, message: String? = nil) {
        do {
            if try store.finishJob(
                jobID: JobID(job.id), worker: worker, status: status, errorCode: code, errorMessage: message,
                nowMs: runner.clock())
            {
                runner.log("job finished", ["job_id": job.id, "status": status.rawValue, "error_code": code ?? ""])
                runner.events.publish(jobID: job.id, .status(status.rawValue))
            }
        } catch {
            runner.log("finish failed; the reaper will retry the job", ["job_id": job.id, "error": "\(error)"])
        }
    }

    /// The first committed item's validation and test loss (after a resume), or nil.
    private func firstItemLosses() -> (validationLoss: Double, testLoss: Double?)? {
        guard let row = try? store.history(jobID: job.id, after: nil, limit: 1).first,
            let item = try? JSONValue.parse(row.itemJSON), let validation = item["validation_loss"]?.doubleValue
        else { return nil }
        return (validation, item["test_loss"]?.doubleValue)
    }

    /// The API's `latest` object; it carries the job's current `warnings`, which the API shows
    /// on the job itself (they change as the job runs, like `latest`).
    static func latestJSON(_ item: HistoryItem, warnings: [JobWarning] = []) -> String {
        var object = JSONObject()
        object["meta_iteration"] = .number(Double(item.metaIteration))
        object["training_loss"] = .number(item.trainingLoss)
        object["validation_loss"] = .number(item.validationLoss)
        object["validation_error"] = .number(item.validationError)
        if let testLoss = item.testLoss, let testError = item.testError {
            object["test_loss"] = .number(testLoss)
            object["test_error"] = .number(testError)
        }
        if let step = item.step { object["step"] = .string(step.rawValue) }
        if !warnings.isEmpty { object["warnings"] = .array(warnings.map { $0.json() }) }
        return JSONValue.object(object).serializedString()
    }

    static func bestJSON(_ best: BestSoFar) -> String {
        var object = JSONObject()
        object["meta_iteration"] = .number(Double(best.metaIteration))
        object["validation_loss"] = .number(best.validationLoss)
        object["validation_error"] = .number(best.validationError)
        if let trainingLoss = best.trainingLoss { object["training_loss"] = .number(trainingLoss) }
        if let testLoss = best.testLoss, let testError = best.testError {
            object["test_loss"] = .number(testLoss)
            object["test_error"] = .number(testError)
        }
        if let objective = best.objective { object["objective"] = .number(objective) }
        return JSONValue.object(object).serializedString()
    }
}

extension Double {
    /// Nil for NaN and infinities (a guard-rejected item whose training diverged has no losses).
    fileprivate var finite: Double? { isFinite ? self : nil }
}
