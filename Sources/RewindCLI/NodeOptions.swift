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
        help:
            "PostgreSQL connections this node opens at most (REWIND_DATABASE_POOL_SIZE; default: workers + 2, 4 to 32)."
    )
    var databasePoolSize: Int = Environment.int("REWIND_DATABASE_POOL_SIZE") ?? 0

    @Option(
        name: .customLong("job-memory-mb"),
        help: """
            Memory one job may use, in MiB: larger specs are refused (422), and a job whose learned \
            momenta would need more fails resource_exhausted (REWIND_JOB_MEMORY_MB; default 1024).
            """)
    var jobMemoryMB: Int = Environment.int("REWIND_JOB_MEMORY_MB") ?? 1024

    @Option(
        name: .customLong("memory-budget-mb"),
        help: """
            Memory this node lends to request bodies, uploads and jobs together, in MiB: what does \
            not fit waits briefly or is answered 503 with Retry-After (REWIND_MEMORY_BUDGET_MB; \
            default: half the least of physical memory, the cgroup limit and the address-space limit).
            """)
    var memoryBudgetMB: Int = Environment.int("REWIND_MEMORY_BUDGET_MB") ?? (MemoryLimits.current().defaultBudget >> 20)

    @Option(
        name: .customLong("job-threads"),
        help: """
            Threads each job may use: a job's meta.seeds runs in parallel, or a single run's two step \
            halves; results are identical for any number. Set 2 when the node has more cores than \
            jobs (REWIND_JOB_THREADS; default 1).
            """)
    var jobThreads: Int = Environment.int("REWIND_JOB_THREADS") ?? 1

    @Option(
        name: .customLong("database-wait"),
        help: """
            Seconds a node started while its database is unreachable keeps retrying (with back-off, \
            answering /healthz 200 and /readyz 503 meanwhile) before it exits 1; 'never' waits for \
            ever, 0 exits at once (REWIND_DATABASE_WAIT; default never).
            """)
    var databaseWait: String = Environment.string("REWIND_DATABASE_WAIT") ?? "never"

    @OptionGroup var lease: LeaseOptions

    @OptionGroup var polling: PollingOptions

    func validate() throws {
        try lease.validate()
        try polling.validate()
        guard (0...1000).contains(databasePoolSize) else {
            throw ValidationError("--database-pool-size must be between 1 and 1000 (0: automatic)")
        }
        guard databaseWait == "never" || Double(databaseWait).map({ $0 >= 0 && $0.isFinite }) == true else {
            throw ValidationError("--database-wait must be a number of seconds (0 or more) or 'never'")
        }
        guard (16...(1 << 30)).contains(memoryBudgetMB) else {
            throw ValidationError("--memory-budget-mb must be at least 16 (REWIND_MEMORY_BUDGET_MB)")
        }
        guard jobMemoryMB >= 16 else { throw ValidationError("--job-memory-mb must be at least 16") }
        guard (1...64).contains(jobThreads) else { throw ValidationError("--job-threads must be between 1 and 64") }
    }

    var jobMemoryBudget: Int { jobMemoryMB << 20 }

    /// How long to wait for an unreachable database at start; nil: for ever.
    var databaseWaitLimit: Duration? {
        Double(databaseWait).map { .milliseconds(Int(($0 * 1000).rounded())) }
    }

    /// Opens the database sized for `workers`, feeding `health`.
    func openStore(workers: Int, health: DatabaseHealth, nowMs: Int64) throws -> any Store {
        let poolSize = databasePoolSize > 0 ? databasePoolSize : StoreLocation.poolSize(workers: workers)
        return try storage.open(poolSize: poolSize, health: health, nowMs: nowMs)
    }

    /// The node's one memory budget (`--memory-budget-mb`): request bodies, pages and jobs draw from it.
    func makeMemoryBudget() -> MemoryBudget { MemoryBudget(capacity: memoryBudgetMB << 20) }

    /// The worker pool's settings: lease periods, node id, polling, fingerprint and job limits.
    func jobsConfiguration(workers: Int, port: Int, nowMs: Int64, memoryBudget: MemoryBudget) -> JobsConfiguration {
        var jobs = polling.apply(to: lease.configuration(workers: workers, port: port, nowMs: nowMs))
        jobs.jobMemoryBudget = jobMemoryBudget
        jobs.memoryBudget = memoryBudget
        jobs.jobThreads = jobThreads
        return jobs
    }
}
