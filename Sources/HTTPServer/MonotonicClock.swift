import Glibc
import Synchronization

/// Nanoseconds on CLOCK_MONOTONIC: the event loop's only source of time.
enum MonotonicClock {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }
}

/// The `Date` header text, recomputed at most once a second.
final class HTTPDateCache: Sendable {
    private let cached = Mutex<(seconds: Int, text: String)>((0, ""))

    func current() -> String {
        let seconds = Int(time(nil))
        return cached.withLock { cached in
            if cached.seconds != seconds { cached = (seconds, HTTPDate.format(epochSeconds: seconds)) }
            return cached.text
        }
    }
}
