import ArgumentParser
import Foundation
import Jobs
import NodeResources
import Storage

/// What every node that runs workers shares (`serve` and `worker`): its database, the limits of a
/// job, and its lease and polling periods.
struct NodeOptions: ParsableArguments {
    @OptionGroup var storage: DatabaseOptions

    @Option(
        name: .customLong("database-pool-size"),
        help: "PostgreSQL connections this node opens at most (REWIND_DATABASE_POOL_SIZE; default: workers + 2, 4 to 32).")
    var databasePoolSize: Int = Environment.int("REWIND_DATABASE_POOL_SIZE") ?? 0

    @Option(
        name: .customLong("job-memory-mb"),
        help: """
            Memory one job may use, in MiB: larger specs are refused (422), and a job whose learned \
            momenta would need more fails resource_exhausted (REWIND_JOB_MEMORY_MB; default 1024).
            """)
    var jobMemoryMB: Int = Environment.int("REWIND_JOB_MEMORY_MB") ?? 1024

    @Option(
        name: .customLong("job-threads"),
        help: """
            Threads each job may use: a job's meta.seeds runs in parallel, or a single run's two step \
            halves; results are identical for any number. Set 2 when the node has more cores than \
            jobs (REWIND_JOB_THREADS; default 1).
            """)
    var jobThreads: Int = Environment.int("REWIND_JOB_THREADS") ?? 1

    @OptionGroup var lease: LeaseOptions

    @OptionGroup var polling: PollingOptions

    func validate() throws {
        try lease.validate()
        try polling.validate()
        guard (0...1000).contains(databasePoolSize) else {
            throw ValidationError("--database-pool-size must be between 1 and 1000 (0: automatic)")
        }
        guard jobMemoryMB >= 16 else { throw ValidationError("--job-memory-mb must be at least 16") }
        guard (1...64).contains(jobThreads) else { throw ValidationError("--job-threads must be between 1 and 64") }
    }

    var jobMemoryBudget: Int { jobMemoryMB << 20 }

    /// Opens the database sized for `workers`; a failure is logged and exits 1.
    func openStore(workers: Int, logger: JSONLogger, nowMs: Int64) throws -> any Store {
        let poolSize = databasePoolSize > 0 ? databasePoolSize : StoreLocation.poolSize(workers: workers)
        do {
            return try storage.open(poolSize: poolSize, nowMs: nowMs)
        } catch {
            logger.log(.error, "cannot open the database", ["database": "\(storage.location)", "error": "\(error)"])
            throw ExitCode(1)
        }
    }

    /// The worker pool's settings: lease periods, node id, polling, fingerprint and job limits.
    func jobsConfiguration(workers: Int, port: Int, nowMs: Int64) -> JobsConfiguration {
        var jobs = polling.apply(to: lease.configuration(workers: workers, port: port, nowMs: nowMs))
        jobs.jobMemoryBudget = jobMemoryBudget
        jobs.jobThreads = jobThreads
        // The node's budget, which its running jobs draw their estimates from (until the serve
        // and worker option for it lands, the default: half the least of the machine's memory,
        // the cgroup limit and the address-space limit).
        jobs.memoryBudget = MemoryBudget(capacity: MemoryLimits.current().defaultBudget)
        return jobs
    }
}
