import Dispatch
import Synchronization

/// Token buckets keyed by principal or client address: `burst` requests at once, then
/// `perSecond` on average. Time is injected (monotonic nanoseconds) so tests never sleep.
///
/// Memory is bounded: past `maxKeys` buckets, those that have refilled completely (they hold
/// nothing a fresh bucket would not) are dropped; if none has, the oldest-touched goes.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    let burst: Double
    let perSecond: Double
    private let maxKeys: Int
    private let now: @Sendable () -> UInt64
    private let buckets = Mutex<[String: Bucket]>([:])

    init(
        burst: Double, perSecond: Double, maxKeys: Int = 10_000,
        now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) {
        precondition(burst >= 1 && perSecond > 0, "a bucket needs room for one request and a refill rate")
        self.burst = burst
        self.perSecond = perSecond
        self.maxKeys = maxKeys
        self.now = now
    }

    /// Takes one token for `key`: nil when allowed, else the seconds until one is available.
    func take(_ key: String) -> Int? {
        acquire(key, consume: true)
    }

    /// Whether `key` would be refused now, without taking a token (nil: it would be allowed).
    func wait(_ key: String) -> Int? {
        acquire(key, consume: false)
    }

    private func acquire(_ key: String, consume: Bool) -> Int? {
        let time = now()
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: time)
            let elapsed = Double(time &- bucket.updated) / 1e9
            bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * perSecond)
            bucket.updated = time
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up)))
            }
            if consume { bucket.tokens -= 1 }
            if buckets[key] == nil, buckets.count >= maxKeys { prune(&buckets, time: time) }
            buckets[key] = bucket
            return nil
        }
    }

    private func prune(_ buckets: inout [String: Bucket], time: UInt64) {
        let full = buckets.filter { $0.value.tokens + Double(time &- $0.value.updated) / 1e9 * perSecond >= burst }
        for key in full.keys { buckets[key] = nil }
        if buckets.count >= maxKeys, let oldest = buckets.min(by: { $0.value.updated < $1.value.updated }) {
            buckets[oldest.key] = nil
        }
    }
}
