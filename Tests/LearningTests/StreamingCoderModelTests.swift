import Foundation
import RewindTestSupport
import Testing

@testable import Learning

/// The information buffer's coder for one parameter with words of `wordBits` bits, written
/// plainly in wide integers: the specification the 32-bit kernels implement, small enough at
/// 2 to 4 bits a word to check on every state, digit and base.
///
/// b = 2^w, L = 2^(2w−1), K = L/b. The buffer is V = x·b^j + Σ stack[i]·b^i. Between steps the
/// state is in the normal form of L (x < bL, and x ≥ L if words are stacked); between a step's
/// pop and its push, in that of K.
struct SmallWordCoder: Equatable {
    let wordBits: Int
    var x: UInt128 = 0
    /// Bottom (least significant) first.
    var stack: [UInt128] = []

    var base: UInt128 { 1 << wordBits }
    var restingLower: UInt128 { 1 << (2 * wordBits - 1) }
    var middleLower: UInt128 { restingLower >> wordBits }

    /// The state is in the normal form of lower bound k: below b·k, and at least k if words are
    /// stacked.
    func isNormal(lower k: UInt128) -> Bool {
        x < base * k && (stack.isEmpty || x >= k) && stack.allSatisfy { $0 < base }
    }

    /// Bits of V: what `InformationBuffer.storedBits` counts.
    var bitLength: Int { stack.count * wordBits + (UInt128.bitWidth - x.leadingZeroBitCount) }

    /// Pops a digit of base n: to the form of n·K (one word out when x ≥ n·L), then r = x mod n
    /// and x div n. Takes the form of L to the form of K.
    mutating func popDigit(base n: UInt128) -> UInt128 {
        if x >= n * restingLower {
            stack.append(x % base)
            x /= base
        }
        defer { x /= n }
        return x % n
    }

    /// The inverse of `popDigit`: x·n + r, then one word back if that is below L.
    mutating func pushDigit(_ r: UInt128, base n: UInt128) {
        x = x * n + r
        if x < restingLower, let word = stack.popLast() {
            x = x * base + word
        }
    }

    /// Pushes a digit of base b: from the form of K to the form of L = b·K.
    mutating func pushWord(_ digit: UInt128) { x = x * base + digit }

    /// The inverse of `pushWord`.
    mutating func popWord() -> UInt128 {
        defer { x /= base }
        return x % base
    }

    /// c ← c·n/b exactly: pop r of base n, X = c·n + r, push X mod b, c ← X div b.
    mutating func multiply(_ c: inout Int128, by n: UInt128) {
        let r = popDigit(base: n)
        let digit: UInt128
        (c, digit) = Self.scale(c, popped: r, by: n, wordBits: wordBits)
        pushWord(digit)
    }

    /// The inverse of `multiply`.
    mutating func divide(_ c: inout Int128, by n: UInt128) {
        let digit = popWord()
        let r: UInt128
        (c, r) = Self.unscale(c, digit: digit, by: n, wordBits: wordBits)
        pushDigit(r, base: n)
    }

    /// The value half of a step: X = c·n + r, then (X div b, X mod b) with floor semantics.
    static func scale(_ c: Int128, popped r: UInt128, by n: UInt128, wordBits: Int) -> (c: Int128, digit: UInt128) {
        let product = c * Int128(n) + Int128(r)
        // An arithmetic shift and a mask: floor division and modulo by b.
        return (product >> wordBits, UInt128(product & ((1 << wordBits) - 1)))
    }

    /// The inverse of `scale`: X = c·b + digit, then (X div n, X mod n) with floor semantics.
    static func unscale(_ c: Int128, digit: UInt128, by n: UInt128, wordBits: Int) -> (c: Int128, r: UInt128) {
        let product = c << wordBits + Int128(digit)
        let n = Int128(n)
        var quotient = product / n, remainder = product % n
        if remainder < 0 {
            quotient -= 1
            remainder += n
        }
        return (quotient, UInt128(remainder))
    }

    /// Every state in the normal form of `lower`, with at most one stacked word (the coder
    /// never looks deeper).
    static func allStates(wordBits: Int, lower: UInt128) -> [SmallWordCoder] {
        let base = UInt128(1) << wordBits
        var states = (0..<base * lower).map { SmallWordCoder(wordBits: wordBits, x: $0) }
        for word in 0..<base {
            for x in lower..<base * lower {
                states.append(SmallWordCoder(wordBits: wordBits, x: x, stack: [word]))
            }
        }
        return states
    }

    static func restingStates(wordBits: Int) -> [SmallWordCoder] {
        allStates(wordBits: wordBits, lower: 1 << (2 * wordBits - 1))
    }

    static func middleStates(wordBits: Int) -> [SmallWordCoder] {
        allStates(wordBits: wordBits, lower: 1 << (wordBits - 1))
    }
}

@Suite("Information buffer coder, exhaustively at small word sizes")
struct StreamingCoderModelTests {
    /// For every base n in [1, b]: popping a digit from every state between steps lands in the
    /// mid-step form and pushing it back restores the state; pushing every digit r < n onto every
    /// mid-step state lands between steps and popping returns r and the state. Both inverses on
    /// the whole space: the pop is a bijection state ↔ (digit, state) for every n, so a base
    /// that changes every step is exact.
    @Test(arguments: [2, 3, 4])
    func poppingADigitOfAnyBaseIsABijection(wordBits: Int) {
        let resting = SmallWordCoder.restingStates(wordBits: wordBits)
        let middle = SmallWordCoder.middleStates(wordBits: wordBits)
        var failures = 0
        for n in 1...UInt128(1) << wordBits {
            for state in resting {
                var coder = state
                let r = coder.popDigit(base: n)
                let normal = r < n && coder.isNormal(lower: coder.middleLower)
                coder.pushDigit(r, base: n)
                if !normal || coder != state { failures += 1 }
            }
            for state in middle {
                for r in 0..<n {
                    var coder = state
                    coder.pushDigit(r, base: n)
                    let normal = coder.isNormal(lower: coder.restingLower)
                    if !normal || coder.popDigit(base: n) != r || coder != state { failures += 1 }
                }
            }
        }
        #expect(failures == 0)
    }

    /// Pushing a digit of base b = 2^w onto every mid-step state and popping it back, and the
    /// reverse from every state between steps, are inverse bijections too.
    @Test(arguments: [2, 3, 4])
    func pushingAWordIsABijection(wordBits: Int) {
        var failures = 0
        for state in SmallWordCoder.middleStates(wordBits: wordBits) {
            for digit in 0..<UInt128(1) << wordBits {
                var coder = state
                coder.pushWord(digit)
                let normal = coder.isNormal(lower: coder.restingLower)
                if !normal || coder.popWord() != digit || coder != state { failures += 1 }
            }
        }
        for state in SmallWordCoder.restingStates(wordBits: wordBits) {
            var coder = state
            let digit = coder.popWord()
            let normal = coder.isNormal(lower: coder.middleLower)
            coder.pushWord(digit)
            if !normal || coder != state { failures += 1 }
        }
        #expect(failures == 0)
    }

    /// The value half, (c, r) ↦ (c·n + r) div b and mod b, is a bijection ℤ × [0, n) → ℤ × [0, b)
    /// for every n ≤ b (checked on a window of c, both directions) and keeps c within one unit
    /// of c·n/b.
    @Test(arguments: [2, 3, 4])
    func theValueHalfIsABijectionThatStaysWithinOneUnit(wordBits: Int) {
        let b = Int128(1) << wordBits
        var failures = 0
        for n in 1...UInt128(b) {
            for c in -2 * b...2 * b {
                for r in 0..<n {
                    let (scaled, digit) = SmallWordCoder.scale(c, popped: r, by: n, wordBits: wordBits)
                    let back = SmallWordCoder.unscale(scaled, digit: digit, by: n, wordBits: wordBits)
                    // c'·b − c·n = r − digit ∈ (−b, b).
                    if back.c != c || back.r != r || digit >= b || abs(scaled * b - c * Int128(n)) >= b {
                        failures += 1
                    }
                }
                for digit in 0..<UInt128(b) {
                    let (c0, r) = SmallWordCoder.unscale(c, digit: digit, by: n, wordBits: wordBits)
                    let back = SmallWordCoder.scale(c0, popped: r, by: n, wordBits: wordBits)
                    if back.c != c || back.digit != digit || r >= n { failures += 1 }
                }
            }
        }
        #expect(failures == 0)
    }

    /// The composed step, end to end on every state, base and two periods of c: multiply then
    /// divide, and divide then multiply, are the identity, and states stay in normal form.
    @Test(arguments: [2, 3])
    func everyWholeStepRoundTrips(wordBits: Int) {
        let states = SmallWordCoder.restingStates(wordBits: wordBits)
        let b = Int128(1) << wordBits
        var failures = 0
        for n in 1...UInt128(b) {
            for state in states {
                for c0 in -b...b {
                    var coder = state, c = c0
                    coder.multiply(&c, by: n)
                    let forwardNormal = coder.isNormal(lower: coder.restingLower)
                    coder.divide(&c, by: n)
                    var back = state, d = c0
                    back.divide(&d, by: n)
                    let backwardNormal = back.isNormal(lower: back.restingLower)
                    back.multiply(&d, by: n)
                    if !forwardNormal || coder != state || c != c0 || !backwardNormal || back != state || d != c0 {
                        failures += 1
                    }
                }
            }
        }
        #expect(failures == 0)
    }

    /// Control: a fixed interval cannot do this. rANS's rule for a uniform digit (state kept in
    /// [L, bL), words read while below L, written while x ≥ ⌈(bL − r)/n⌉) fails to round-trip
    /// when n does not divide L, which is why the coder moves to a multiple of each step's n.
    @Test func aFixedIntervalWouldNotBeExact() {
        let n: UInt128 = 3
        var broken = 0
        for state in SmallWordCoder.restingStates(wordBits: 3) {
            var coder = state
            let r = coder.x % n
            coder.x /= n
            while coder.x < coder.restingLower, let word = coder.stack.popLast() {
                coder.x = coder.x * coder.base + word
            }
            let upper = (coder.base * coder.restingLower - r + n - 1) / n
            while coder.x >= upper {
                coder.stack.append(coder.x % coder.base)
                coder.x /= coder.base
            }
            coder.x = coder.x * n + r
            if coder != state || !coder.isNormal(lower: coder.restingLower) { broken += 1 }
        }
        #expect(broken > 0)
    }

    /// Over a long random run the coder holds the information destroyed, Σ log2(b/n_t), plus at
    /// most one word (the first digit, pushed onto an empty buffer) and a bit of rounding.
    @Test func aLongRunHoldsTheInformationDestroyedAndNoMore() {
        var rng = SeededGenerator(seed: 40)
        let wordBits = 16
        var coder = SmallWordCoder(wordBits: wordBits)
        var c: Int128 = 1 << 40
        var theory = 0.0
        for _ in 0..<300 {
            let n = UInt128(Int.random(in: 1 << 15..<(1 << 16) - 1, using: &rng))
            coder.multiply(&c, by: n)
            theory += Double(wordBits) - log2(Double(n))
            c += Int128(Int.random(in: -1000...1000, using: &rng)) << 30
            #expect(Double(coder.bitLength) <= theory + Double(wordBits) + 2)
        }
        #expect(Double(coder.bitLength) >= theory - 1)
        #expect(coder.stack.count > 3)
    }
}
