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
    }
}
