import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thread-safe registry of Prometheus metrics, rendered in the text exposition format 0.0.4.
///
/// Every family is declared up front (name, help, type, label names, buckets), so `/metrics` shows
/// its `# HELP` and `# TYPE` lines before the first sample and a misspelt name is caught as the bug
/// it is. Families are either recorded into (`increment`, `set`, `observe`) or filled by a
/// collector closure called on every `render()`, for values that live elsewhere (job counts in the
/// store, busy workers).
public final class Metrics: Sendable {
    /// The metric type, as the `# TYPE` line names it.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// Reports a collector family's current samples: each a label set and a value.
    public typealias Collector = @Sendable () -> [([String: String], Double)]

    struct Family: Sendable {
        let name: String
        var help: String
        let kind: Kind
        /// Label names in the order samples print them.
        let labelNames: [String]
        /// Upper bounds of a histogram's finite buckets, ascending; `+Inf` is implicit.
        let buckets: [Double]
        var collector: Collector?
    }

    struct Histogram: Sendable {
        /// Observations per bucket, not cumulative; the last entry is the `+Inf` bucket.
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    enum Series: Sendable {
        case value(Double)
        case histogram(Histogram)
    }

    struct State: Sendable {
        var families: [String: Family] = [:]
        /// Family name → label values (in `labelNames` order) → series.
        var series: [String: [[String]: Series]] = [:]
    }

    /// One lock for the whole registry: updates are a dictionary lookup and an add, far shorter
    /// than anything else a request does, so finer locks would buy nothing measurable.
    let state = Mutex(State())

    /// An empty registry; `Metrics(version:)` gives one with Rewind's families declared.
    public init() {}

    /// Declares a family. Declaring the same family again is harmless; redeclaring a name with
    /// another type, labels or buckets is a bug and crashes.
    public func declare(_ name: String, help: String, kind: Kind, labels: [String] = [], buckets: [Double] = []) {
        precondition(Self.isValidMetricName(name), "invalid metric name \(name)")
        for label in labels {
            precondition(Self.isValidLabelName(label), "invalid label name \(label) for \(name)")
        }
        precondition(Set(labels).count == labels.count, "duplicate label names for \(name)")
        if kind == .histogram {
            precondition(!labels.contains("le"), "a histogram cannot have a label named le (\(name))")
            precondition(!buckets.isEmpty && buckets.allSatisfy(\.isFinite), "histogram \(name) needs finite buckets")
            precondition(zip(buckets, buckets.dropFirst()).allSatisfy { $0 < $1 }, "buckets of \(name) must increase")
        } else {
            precondition(buckets.isEmpty, "only histograms have buckets (\(name))")
        }
        state.withLock { state in
            if let existing = state.families[name] {
                precondition(
                    existing.kind == kind && existing.labelNames == labels && existing.buckets == buckets,
                    "metric \(name) redeclared differently")
                state.families[name]?.help = help
                return
            }
            state.families[name] = Family(name: name, help: help, kind: kind, labelNames: labels, buckets: buckets)
        }
    }

    /// Adds `amount` (at least 0) to a counter, or to a gauge.
    public func increment(_ name: String, by amount: Double = 1, labels: [String: String] = [:]) {
        update(name, labels: labels, allowed: [.counter, .gauge]) { series, family in
            precondition(family.kind == .gauge || amount >= 0, "counter \(name) cannot decrease (by \(amount))")
            if case .value(let current)? = series {
                series = .value(current + amount)
            } else {
                series = .value(amount)
            }
        }
    }

    /// Sets a gauge.
    public func set(_ name: String, to value: Double, labels: [String: String] = [:]) {
        update(name, labels: labels, allowed: [.gauge]) { series, _ in series = .value(value) }
    }

    /// Records one observation in a histogram.
    public func observe(_ name: String, value: Double, labels: [String: String] = [:]) {
        update(name, labels: labels, allowed: [.histogram]) { series, family in
            var histogram: Histogram
            if case .histogram(let existing)? = series {
                histogram = existing
            } else {
                histogram = Histogram(counts: Array(repeating: 0, count: family.buckets.count + 1))
            }
            series = nil  // drop the stored copy so the counts are updated in place, not copied
            // `le` is inclusive; a NaN matches no bound and lands in +Inf, as client_golang does.
            let index = family.buckets.firstIndex { value <= $0 } ?? family.buckets.count
            histogram.counts[index] += 1
            histogram.sum += value
            histogram.count += 1
            series = .histogram(histogram)
        }
    }

    /// Makes `collect` the source of a gauge family's samples, called on every `render()`.
    public func registerGaugeCollector(
        name: String, help: String, labels: [String] = [], _ collect: @escaping Collector
    ) {
        registerCollector(name: name, help: help, kind: .gauge, labels: labels, collect)
    }

    /// Makes `collect` the source of a counter or gauge family's samples, called on every
    /// `render()`: for a total kept elsewhere, such as SQLite's busy count. Replaces an earlier
    /// collector of the same family.
    public func registerCollector(
        name: String, help: String, kind: Kind, labels: [String] = [], _ collect: @escaping Collector
    ) {
        precondition(kind != .histogram, "collectors report counters or gauges, not histograms (\(name))")
        declare(name, help: help, kind: kind, labels: labels)
        state.withLock { state in
            precondition(
                state.series[name, default: [:]].isEmpty, "\(name) is recorded into; it cannot also have a collector")
            state.families[name]?.collector = collect
        }
    }

    private func update(
        _ name: String, labels: [String: String], allowed: Set<Kind>,
        _ change: (inout Series?, Family) -> Void
    ) {
        state.withLock { state in
            guard let family = state.families[name] else { preconditionFailure("metric \(name) is not declared") }
            precondition(allowed.contains(family.kind), "\(name) is a \(family.kind.rawValue)")
            precondition(family.collector == nil, "\(name) comes from a collector; it cannot be recorded into")
            let key = Self.labelValues(labels, for: family)
            change(&state.series[name, default: [:]][key], family)
        }
    }

    /// The label values in declared order; a missing or unexpected label is a bug.
    static func labelValues(_ labels: [String: String], for family: Family) -> [String] {
        precondition(
            labels.count == family.labelNames.count,
            "\(family.name) takes labels \(family.labelNames), got \(labels.keys.sorted())")
        return family.labelNames.map { label in
            guard let value = labels[label] else {
                preconditionFailure("\(family.name) takes labels \(family.labelNames), got \(labels.keys.sorted())")
            }
            return value
        }
    }

    static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
        }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first), !name.hasPrefix("__") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

// MARK: - Rewind's families

extension Metrics {
    /// The names `/metrics` exposes, in one place so recorders and tests cannot misspell them.
    public enum Name {
        public static let httpRequests = "rewind_http_requests_total"
        public static let httpRequestDuration = "rewind_http_request_duration_seconds"
        public static let jobs = "rewind_jobs"
        public static let jobsFinished = "rewind_jobs_finished_total"
        public static let metaIterations = "rewind_meta_iterations_total"
        public static let metaIterationDuration = "rewind_meta_iteration_duration_seconds"
        public static let sqliteBusy = "rewind_sqlite_busy_total"
        public static let workersBusy = "rewind_workers_busy"
        public static let databaseUp = "rewind_database_up"
        public static let databaseLastGoodQuery = "rewind_database_last_good_query_seconds"
        public static let databasePoolWaiters = "rewind_database_pool_waiters"
        public static let buildInfo = "rewind_build_info"
        public static let processStartTime = "process_start_time_seconds"
        public static let processResidentMemory = "process_resident_memory_bytes"
        public static let memoryBudgetBytes = "rewind_memory_budget_bytes"
        public static let memoryBudgetInUse = "rewind_memory_budget_in_use_bytes"
        public static let memoryBudgetWaiters = "rewind_memory_budget_waiters"
        public static let memoryBudgetRefusals = "rewind_memory_budget_refusals_total"
    }

    /// From a cached GET (sub-millisecond) to a large upload or history page.
    public static let requestDurationBuckets: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    /// One meta-iteration trains forward and backward: a fraction of a second for small models,
    /// minutes for the largest specs the limits allow.
    public static let metaIterationDurationBuckets: [Double] = [
        0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
    ]

    /// A registry with every Rewind family declared, the build info and process start time set,
    /// and resident memory read from `/proc/self/statm` on each scrape.
    ///
    /// `rewind_jobs`, `rewind_sqlite_busy_total` and `rewind_workers_busy` are declared without
    /// samples; the composition root attaches their collectors (`registerGaugeCollector`,
    /// `registerCollector`) once the store and the worker pool exist.
    /// - Parameter startTime: Unix seconds at which the process started; now when nil.
    public convenience init(version: String, startTime: Double? = nil) {
        self.init()
        declare(
            Name.httpRequests, help: "HTTP requests answered, by route template, method and status code.",
            kind: .counter, labels: ["route", "method", "code"])
        declare(
            Name.httpRequestDuration, help: "Time from a parsed request to its response being queued, in seconds.",
            kind: .histogram, labels: ["route", "method"], buckets: Self.requestDurationBuckets)
        declare(Name.jobs, help: "Jobs in the store, by status.", kind: .gauge, labels: ["status"])
        declare(
            Name.jobsFinished, help: "Jobs that reached a terminal status in this process, by status.",
            kind: .counter, labels: ["status"])
        declare(Name.metaIterations, help: "Meta-iterations (history items) completed in this process.", kind: .counter)
        declare(
            Name.metaIterationDuration, help: "Wall-clock time of one meta-iteration, in seconds.",
            kind: .histogram, buckets: Self.metaIterationDurationBuckets)
        declare(Name.sqliteBusy, help: "SQLite calls that found the database busy or locked.", kind: .counter)
        declare(Name.workersBusy, help: "Workers running a job right now.", kind: .gauge)
        declare(
            Name.buildInfo, help: "Always 1; the version label names the running build.", kind: .gauge,
            labels: ["version"])
        declare(
            Name.processStartTime, help: "Start time of the process since the Unix epoch, in seconds.", kind: .gauge)
        set(Name.buildInfo, to: 1, labels: ["version": version])
        set(Name.processStartTime, to: startTime ?? Self.currentUnixTime())
        registerGaugeCollector(name: Name.processResidentMemory, help: "Resident memory size, in bytes.") {
            Self.residentMemoryBytes().map { [([:], $0)] } ?? []
        }
    }

    /// Counts one answered request and its latency.
    /// - Parameter route: the route template (`/v1/jobs/{id}`), never the raw path, so that the
    ///   number of series stays bounded; requests that match no route should pass one fixed name.
    /// - Parameter method: a method the server knows; map anything else to one fixed name too.
    public func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        increment(Name.httpRequests, labels: ["route": route, "method": method, "code": String(status)])
        observe(Name.httpRequestDuration, value: seconds, labels: ["route": route, "method": method])
    }

    /// Counts one finished meta-iteration and its duration.
    public func recordMetaIteration(seconds: Double) {
        increment(Name.metaIterations)
        observe(Name.metaIterationDuration, value: seconds)
    }

    /// Counts a job reaching a terminal status (`succeeded`, `failed` or `cancelled`).
    public func recordJobFinished(status: String) {
        increment(Name.jobsFinished, labels: ["status": status])
    }

    static func currentUnixTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// The second field of `/proc/self/statm` (resident pages) times the page size; nil where
    /// there is no procfs, so the family then simply has no sample.
    static func residentMemoryBytes() -> Double? {
        let descriptor = open("/proc/self/statm", O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        return Double(pages) * Double(sysconf(Int32(_SC_PAGESIZE)))
    }
}
