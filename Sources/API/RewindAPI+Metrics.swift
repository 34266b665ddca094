import NodeResources
import Storage

/// What the service reports on `/metrics` besides per-request counts: read fresh on every scrape.
extension RewindAPI {
    func registerCollectors() {
        let store = self.store
        let runner = self.runner
        let cache = JobCountsCache()
        metrics.registerGaugeCollector(name: Metrics.Name.jobs, help: "Jobs by status.", labels: ["status"]) {
            let counts = cache.counts(store)
            return JobStatus.allCases.map { (["status": $0.rawValue], Double(counts[$0] ?? 0)) }
        }
        metrics.registerCollector(
            name: Metrics.Name.sqliteBusy, help: "SQLITE_BUSY answers that outlived the busy timeout.", kind: .counter
        ) {
            [([:], Double(store.busyErrorCount))]
        }
        metrics.registerGaugeCollector(name: Metrics.Name.workersBusy, help: "Workers training a job.") {
            [([:], Double(runner.busyWorkers))]
        }
        Self.registerDatabaseCollectors(metrics, health: store.health)
        registerBudgetCollectors(configuration.memoryBudget)
    }
}

extension RewindAPI {
    /// The node's memory budget: what request bodies, responses and jobs may hold at once, what
    /// they hold now, who waits for room and how often room was refused (503s).
    private func registerBudgetCollectors(_ budget: MemoryBudget) {
        metrics.registerGaugeCollector(
            name: Metrics.Name.memoryBudgetBytes, help: "Bytes the node's memory budget hands out at most."
        ) {
            [([:], Double(budget.capacity))]
        }
        metrics.registerGaugeCollector(
            name: Metrics.Name.memoryBudgetInUse, help: "Bytes of the memory budget reserved now."
        ) {
            [([:], Double(budget.inUse))]
        }
        metrics.registerGaugeCollector(
            name: Metrics.Name.memoryBudgetWaiters, help: "Reservations waiting for room in the memory budget."
        ) {
            [([:], Double(budget.waiters))]
        }
        metrics.registerCollector(
            name: Metrics.Name.memoryBudgetRefusals, help: "Reservations the memory budget refused (answered 503).",
            kind: .counter
        ) {
            [([:], Double(budget.refusals))]
        }
    }
}
