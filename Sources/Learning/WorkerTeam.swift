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
/// The hand-over is a generation counter. Each side that has to wait — the helper for the next
/// section, the caller for the helper's half — spins for about 15 µs (longer than
/// the short serial stretches between a step's sections, so on a free core the helper is there
/// when the next section is posted), then sleeps on a condition variable until the other side
/// wakes it. Spinning longer buys nothing on a busy machine: there the other thread is often not
/// running at all (preempted by other processes for milliseconds), and every spin is CPU time
/// taken from the work. The second half goes to whichever thread claims it first.
public final class WorkerTeam: @unchecked Sendable {
    /// 1 or 2.
    public let threads: Int

    /// A team of one, for callers that do not split work.
    public static let serial = WorkerTeam(threads: 1)

    private let posted = Atomic<Int>(0)  // sections handed to the helper
    private let claimed = Atomic<Int>(0)  // the last section whose second half someone took
    private let finished = Atomic<Int>(0)  // the last section whose second half the helper ran
    private let sleeping = Atomic<Bool>(false)  // the helper waits on `condition`
    private let waiting = Atomic<Bool>(false)  // the caller waits on `doneCondition`
    private let stopping = Atomic<Bool>(false)
    /// The helper's half of the current section; written before `posted` is bumped (release) and
    /// read after the helper sees the bump (acquire).
    private var work: (() -> Void)?
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var doneCondition = pthread_cond_t()
    private var helper: pthread_t?

    /// Spins of a waiting thread (the idle helper, or the caller waiting for the helper's half)
    /// before it sleeps.
    let spinLimit: Int
    /// The default `spinLimit`: 30,000 spins, about 15 µs — longer than the short serial
    /// stretches between a step's sections, far shorter than a scheduler time slice. The trade:
    /// at MNIST scale on the 2-core machine under a load average of 5–7, one two-thread
    /// hypergradient (T = 100) took 0.65–0.74 CPU s with 3,000 spins, 0.71–0.88 with 30,000,
    /// 0.87–0.95 with 300,000 and 1.18–1.27 with the former 2,000,000 idle spins; but with 3,000
    /// the helper was asleep whenever the next section came and the wall time rose to about the
    /// CPU time (one thread's), where 30,000 let the two threads overlap.
    public static let defaultSpinLimit = 30_000

    /// A team of `threads` (1 or 2) threads; with 2 the helper thread starts now. A waiting thread
    /// spins `spinLimit` times before it sleeps (0: it sleeps at once).
    public init(threads: Int, spinLimit: Int = WorkerTeam.defaultSpinLimit) {
        precondition(threads == 1 || threads == 2, "WorkerTeam: threads must be 1 or 2")
        precondition(spinLimit >= 0, "WorkerTeam: spinLimit must not be negative")
        self.threads = threads
        self.spinLimit = spinLimit
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        pthread_cond_init(&doneCondition, nil)
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
        pthread_cond_destroy(&doneCondition)
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
                awaitHelper(ticket)
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

    /// Returns once the helper has finished section `ticket`: spins, then sleeps until it says so.
    private func awaitHelper(_ ticket: Int) {
        var spins = 0
        while finished.load(ordering: .acquiring) != ticket {
            spins += 1
            if spins < spinLimit { continue }
            pthread_mutex_lock(&mutex)
            // Either the helper sees `waiting` after its store of `finished` and signals under the
            // mutex, or this load sees that store: a wake-up is never lost.
            waiting.store(true, ordering: .sequentiallyConsistent)
            while finished.load(ordering: .sequentiallyConsistent) != ticket {
                pthread_cond_wait(&doneCondition, &mutex)
            }
            waiting.store(false, ordering: .releasing)
            pthread_mutex_unlock(&mutex)
        }
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
                if spins < spinLimit { continue }
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
                finished.store(done, ordering: .sequentiallyConsistent)
                if waiting.load(ordering: .sequentiallyConsistent) {
                    pthread_mutex_lock(&mutex)
                    pthread_cond_signal(&doneCondition)
                    pthread_mutex_unlock(&mutex)
                }
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
