import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One or two threads sharing the work of one training step.
///
/// Every parallel section of the trainer and the model is written as exactly two halves, `run(a, b)`:
/// with one thread both halves run on the caller one after the other, with two the second half
/// runs on a helper thread at the same time. The arithmetic of each half is the same either way —
/// same calls, same buffers, sums combined in the same order afterwards — so results are identical
/// bit for bit whatever the thread count.
///
/// The hand-over is a generation counter the helper spins on for a short while (a step has a
/// dozen sections a few microseconds apart), then sleeps on a condition variable, so an idle
/// helper costs nothing; the second half goes to whichever thread claims it first.
public final class WorkerTeam: @unchecked Sendable {
    /// 1 or 2.
    public let threads: Int

    /// A team of one, for callers that do not split work.
    public static let serial = WorkerTeam(threads: 1)

    private let posted = Atomic<Int>(0)  // sections handed to the helper
    private let claimed = Atomic<Int>(0)  // the last section whose second half someone took
    private let finished = Atomic<Int>(0)  // the last section whose second half the helper ran
    private let sleeping = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    /// The helper's half of the current section; written before `posted` is bumped (release) and
    /// read after the helper sees the bump (acquire).
    private var work: (() -> Void)?
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var helper: pthread_t?

    /// Spins of a waiting caller before it starts yielding the CPU.
    static let spinLimit = 20_000
    /// Spins of an idle helper before it sleeps: about a millisecond, longer than any serial
    /// stretch inside a training run. A helper that slept between sections would wake too late to
    /// take its half (the caller takes it first), and the two threads would run one after the other.
    static let idleSpinLimit = 2_000_000

    /// A team of `threads` (1 or 2) threads; with 2 the helper thread starts now.
    public init(threads: Int) {
        precondition(threads == 1 || threads == 2, "WorkerTeam: threads must be 1 or 2")
        self.threads = threads
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        guard threads == 2 else { return }
        let unmanaged = Unmanaged.passUnretained(self).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { argument in
                Unmanaged<WorkerTeam>.fromOpaque(argument!).takeUnretainedValue().helperLoop()
                return nil
            }, unmanaged)
        precondition(status == 0, "WorkerTeam: pthread_create failed (\(status))")
        helper = thread
    }

    deinit {
        if let helper {
            stopping.store(true, ordering: .releasing)
            wake()
            pthread_join(helper, nil)
        }
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `first` and `second` (on two threads when the team has two) and returns when both
    /// have finished. The halves must not write the same memory.
    ///
    /// Whoever is free first takes `second`: the helper if it is awake, else the caller itself
    /// once `first` is done. On a machine busier than its cores the helper may not be scheduled for
    /// milliseconds; the caller then never waits for it, so two threads are never much slower
    /// than one. Which thread runs a half does not change its arithmetic.
    public func run(_ first: () -> Void, _ second: () -> Void) {
        guard threads == 2 else {
            first()
            second()
            return
        }
        withoutActuallyEscaping(second) { second in
            work = second
            let ticket = posted.add(1, ordering: .sequentiallyConsistent).newValue
            if sleeping.load(ordering: .sequentiallyConsistent) { wake() }
            first()
            if claimed.compareExchange(expected: ticket - 1, desired: ticket, ordering: .acquiringAndReleasing)
                .exchanged
            {
                second()
            } else {
                var spins = 0
                while finished.load(ordering: .acquiring) != ticket {
                    spins += 1
                    if spins > Self.spinLimit { sched_yield() }
                }
            }
            work = nil
        }
    }

    /// Runs `body(0)` and `body(1)`, one per half, and returns both results in half order.
    public func map<T>(_ body: (Int) -> T) -> (T, T) {
        var first: T?, second: T?
        run({ first = body(0) }, { second = body(1) })
        return (first!, second!)
    }

    private func wake() {
        pthread_mutex_lock(&mutex)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    private func helperLoop() {
        var done = 0
        while true {
            var spins = 0
            while posted.load(ordering: .acquiring) == done {
                if stopping.load(ordering: .acquiring) { return }
                spins += 1
                if spins < Self.idleSpinLimit { continue }
                // Idle for a while: sleep until the next section (or shutdown) wakes us.
                pthread_mutex_lock(&mutex)
                sleeping.store(true, ordering: .sequentiallyConsistent)
                while posted.load(ordering: .sequentiallyConsistent) == done
                    && !stopping.load(ordering: .acquiring)
                {
                    pthread_cond_wait(&condition, &mutex)
                }
                sleeping.store(false, ordering: .releasing)
                pthread_mutex_unlock(&mutex)
                spins = 0
            }
            done += 1
            // The caller may have taken this half itself; then there is nothing to do.
            if claimed.compareExchange(expected: done - 1, desired: done, ordering: .acquiringAndReleasing).exchanged {
                work!()
                finished.store(done, ordering: .releasing)
            }
        }
    }
}

/// Splits `range` into two fixed halves (the first gets the smaller half when odd).
@inline(__always)
func halves(_ range: Range<Int>) -> (Range<Int>, Range<Int>) {
    let middle = range.lowerBound + range.count / 2
    return (range.lowerBound..<middle, middle..<range.upperBound)
}
