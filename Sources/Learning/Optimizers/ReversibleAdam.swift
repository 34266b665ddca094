import CBufferKernels
import Foundation

/// Adam's hyperparameters for one inner training run, in natural units, one value per iteration
/// and parameter block where the schedule allows it (the optimiser twin of `TrainingSchedule`).
public struct AdamSchedule: Sendable, Equatable {
    /// Number of training iterations T.
    public var iterations: Int
    /// Step size α[t][k] > 0.  // (T, K)
    public var learningRates: [[Double]]
    /// First-moment decay β1[t][k] in (0, 1).  // (T, K)
    public var beta1: [[Double]]
    /// Second-moment decay β2[t][k] in (0, 1).  // (T, K)
    public var beta2: [[Double]]
    /// ε > 0 in the denominator √v̂ + ε.
    public var epsilon: Double
    /// L2 strength λ_i ≥ 0 per parameter (the penalty ½ Σ λ_i w_i² is part of the loss).  // (N)
    public var l2: [Double]
    /// Initial scale s_k > 0 per block: w_1 = s ⊙ noise.  // (K)
    public var initScales: [Double]
    /// Decoupled weight decay λ_k ≥ 0 per block (AdamW): w ← (1 − α·λ)·w before each update;
    /// 0 turns it off for the block. Empty means off everywhere.  // (K) or empty
    public var weightDecay: [Double]
    /// Decoupled weight decay λ_i ≥ 0 per parameter instead of per block: w_i ← (1 − α·λ_i)·w_i.
    /// Within a block either every λ_i is positive or every one is 0 (off); empty means none, and
    /// it must be empty when `weightDecay` is not.  // (N) or empty
    public var parameterWeightDecay: [Double]

    public init(
        iterations: Int, learningRates: [[Double]], beta1: [[Double]], beta2: [[Double]], epsilon: Double,
        l2: [Double], initScales: [Double], weightDecay: [Double] = [], parameterWeightDecay: [Double] = []
    ) {
        self.weightDecay = weightDecay
        self.parameterWeightDecay = parameterWeightDecay
        self.iterations = iterations
        self.learningRates = learningRates
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.l2 = l2
        self.initScales = initScales
    }
}

extension AdamSchedule {
    /// The largest decoupled weight decay in each of `blocks`, whether it is given per block or
    /// per parameter (0 where it is off); empty when the schedule has none. 1 − α·this is the
    /// smallest decay factor a block applies.  // (K)
    public func largestWeightDecay(blocks: [Range<Int>]) -> [Double] {
        guard !parameterWeightDecay.isEmpty else { return weightDecay }
        return blocks.map { block in block.reduce(0.0) { max($0, parameterWeightDecay[$1]) } }
    }
}

/// The exact gradient of the meta-objective with respect to every input of one Adam run, in
/// natural units; β1 and β2 are the rationals the dynamics really apply (`RationalFactor`).
public struct AdamHypergradient: Sendable, Equatable {
    /// ∂f/∂α[t][k].  // (T, K)
    public var learningRates: [[Double]]
    /// ∂f/∂β1[t][k], through the moment recurrence and every later bias correction.  // (T, K)
    public var beta1: [[Double]]
    /// ∂f/∂β2[t][k], likewise.  // (T, K)
    public var beta2: [[Double]]
    /// ∂f/∂ε.
    public var epsilon: Double
    /// ∂f/∂λ_i.  // (N)
    public var l2: [Double]
    /// ∂f/∂s_k.  // (K)
    public var initScales: [Double]
    /// ∂f/∂λ_k of the decoupled weight decay (0 where it is off); empty when the schedule has none.  // (K)
    public var weightDecay: [Double]
    /// ∂f/∂λ_i of the per-parameter weight decay (0 where it is off); empty when the schedule has
    /// none.  // (N)
    public var parameterWeightDecay: [Double] = []
    /// ∂f/∂w_1.  // (N)
    public var initialWeights: [Double]
}

/// Adam (Kingma & Ba, with bias correction) on fixed-point w, m and v that runs backwards exactly.
///
/// Per iteration t and block k, with β1 and β2 the exact rationals n/2^32 and P_t = Π_{s≤t} β_s:
///
///     m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
///     w ← ρ·w − α · (m / (1 − P1_t)) / (√(v / (1 − P2_t)) + ε)
///
/// with ρ = 1 − α·λ the decoupled weight decay (a third buffer, on w; ρ = 1 where λ = 0).
///
/// The multiplications by β1 and β2 push their destroyed low digits onto two information buffers
/// (one for m, one for v); each increment is rounded to its grid once and added. The weight update
/// is an additive coupling: it depends only on the new m and v, so the inverse subtracts the same
/// rounded value before m and v are touched. m and v are wider than the buffer's Int64 values
/// (`AdamMoment`, `AdamVariance`): with x = H·2^32 + L (H = x div 2^32, L the low 32-bit word),
/// x·n + r = H·n·2^32 + (L·n + r), so the buffer multiplies L alone and x' = H·n + L' exactly; the
/// inverse splits x' = H·n + L' by floor division by n (L' < n always) and lets the buffer divide L'.
///
/// The class works on flat buffers only: the caller supplies ∇L(w) for each step, and reads `weights`.
public final class ReversibleAdam {
    public let schedule: AdamSchedule
    /// Disjoint parameter ranges, one per block, covering the parameter vector.
    public let blocks: [Range<Int>]
    public let parameterCount: Int
    /// The exact β1 and β2 of iteration t, block k.  // (T, K)
    public let beta1: [[RationalFactor]]
    public let beta2: [[RationalFactor]]
    /// 1 − Π_{s≤t} β1_s and 1 − Π_{s≤t} β2_s, the bias corrections, and the products.  // (T, K)
    let correction1: [[Double]], correction2: [[Double]]
    let product1: [[Double]], product2: [[Double]]

    /// Exact w (`FixedPoint`), m (`AdamMoment`) and v (`AdamVariance`).  // (N)
    let w: UnsafeMutableBufferPointer<Int64>
    let m: UnsafeMutableBufferPointer<Int128>
    let v: UnsafeMutableBufferPointer<UInt128>
    /// m's or v's low words while a buffer works on them.  // (N)
    private let low: UnsafeMutableBufferPointer<Int64>
    let initialW: [Int64]
    /// w as Doubles, what the model sees; kept equal to w by every step.  // (N)
    public let weights: UnsafeMutableBufferPointer<Double>
    let firstBuffer: InformationBuffer
    let secondBuffer: InformationBuffer
    /// The exact decay factor 1 − α_tk·λ_k, nil where the block has no weight decay.  // (T, K)
    let decay: [[RationalFactor?]]
    /// The digits the weight decay destroys.
    let decayBuffer: InformationBuffer
    /// Whether block k has a per-parameter weight decay (`schedule.parameterWeightDecay`).  // (K)
    let decaysEach: [Bool]
    /// The numerators of 1 − α_tk·λ_i for the step being applied or undone.  // (N)
    let decayNumerators: UnsafeMutableBufferPointer<UInt64>
    /// Whether the per-parameter work runs through the fused C kernels (`AdamKernels.c`: one pass
    /// a parameter per direction) or the Swift loops below, which specify them: the same bits
    /// either way (`ReversibleAdamKernelTests`), so only tests and benchmarks turn it off.
    var usesKernels = true
    /// Whether the kernels run their build for any x86-64 even where the CPU has AVX-512 and
    /// BMI2 (the same bits; for tests).
    var portableKernels = false
    /// The words the two buffers' coders emit from one tile, for the kernels.  // (2, tileWidth)
    let tileWords: UnsafeMutablePointer<UInt32>

    /// Starts at w_1 = `initialWeights` (rounded to the grid), m = v = 0.
    public init(schedule: AdamSchedule, blocks: [Range<Int>], initialWeights: [Double]) throws(TrainingError) {
        let n = initialWeights.count
        let t = schedule.iterations
        precondition(schedule.learningRates.count == t && schedule.beta1.count == t && schedule.beta2.count == t)
        precondition(blocks.reduce(0) { $0 + $1.count } == n, "blocks must cover the parameters")
        self.schedule = schedule
        self.blocks = blocks
        parameterCount = n
        func factors(_ table: [[Double]], _ name: String) -> [[RationalFactor]] {
            table.map { row in
                precondition(row.count == blocks.count, "\(name) needs one value per block")
                return row.map { value in
                    guard let factor = RationalFactor(approximating: value) else {
                        preconditionFailure("\(name) \(value) is outside (0, 1); the tuning layer must keep it inside")
                    }
                    return factor
                }
            }
        }
        beta1 = factors(schedule.beta1, "beta1")
        beta2 = factors(schedule.beta2, "beta2")
        func products(_ table: [[RationalFactor]]) -> [[Double]] {
            var running = [Double](repeating: 1, count: blocks.count)
            return table.map { row in
                for k in row.indices { running[k] *= row[k].value }
                return running
            }
        }
        product1 = products(beta1)
        product2 = products(beta2)
        correction1 = product1.map { $0.map { 1 - $0 } }
        correction2 = product2.map { $0.map { 1 - $0 } }
        w = .allocate(capacity: n)
        m = .allocate(capacity: n)
        v = .allocate(capacity: n)
        low = .allocate(capacity: n)
        weights = .allocate(capacity: n)
        m.initialize(repeating: 0)
        v.initialize(repeating: 0)
        low.initialize(repeating: 0)
        var initial = [Int64](repeating: 0, count: n)
        for i in 0..<n {
            guard let raw = FixedPoint.raw(initialWeights[i]) else {
                w.initialize(repeating: 0)
                weights.initialize(repeating: 0)
                throw .diverged(step: 0, detail: "initial weight \(i) is outside the fixed-point range")
            }
            initial[i] = raw
        }
        initialW = initial
        _ = w.initialize(from: initial)
        for i in 0..<n { (weights.baseAddress! + i).initialize(to: FixedPoint.value(initial[i])) }
        firstBuffer = InformationBuffer(segments: blocks)
        secondBuffer = InformationBuffer(segments: blocks)
        decayBuffer = InformationBuffer(segments: blocks)
        precondition(
            schedule.weightDecay.isEmpty || schedule.weightDecay.count == blocks.count, "weight decay is per block")
        let weightDecay = schedule.weightDecay
        decay = schedule.learningRates.map { row in
            row.indices.map { k in
                guard k < weightDecay.count, weightDecay[k] > 0 else { return nil }
                guard let factor = RationalFactor(approximating: 1 - row[k] * weightDecay[k]) else {
                    preconditionFailure(
                        "α·λ = \(row[k] * weightDecay[k]) is outside (0, 1); the tuning layer must keep it inside")
                }
                return factor
            }
        }
        let each = schedule.parameterWeightDecay
        precondition(each.isEmpty || (each.count == n && weightDecay.isEmpty), "per-parameter weight decay is (N)")
        decaysEach = blocks.map { block in
            guard !each.isEmpty, !block.isEmpty else { return false }
            let on = each[block.lowerBound] > 0
            precondition(
                block.allSatisfy { (each[$0] > 0) == on && each[$0] >= 0 },
                "per-parameter weight decay must be positive on all of a block or 0 on all of it")
            return on
        }
        decayNumerators = .allocate(capacity: n)
        decayNumerators.initialize(repeating: 1)
        tileWords = .allocate(capacity: 2 * InformationBuffer.tileWidth)
        tileWords.initialize(repeating: 0, count: 2 * InformationBuffer.tileWidth)
    }

    deinit {
        tileWords.deallocate()
        decayNumerators.deallocate()
        for buffer in [w, low] { buffer.deallocate() }
        m.deallocate()
        v.deallocate()
        weights.deallocate()
    }

    /// The rounded decrement of w at iteration t, block k, from the new m and v: the one value
    /// both directions use, so the coupling is undone exactly.
    @inline(__always)
    func increment(_ i: Int, _ c: StepConstants) -> Int64? {
        FixedPoint.raw(update(i, c).update)
    }

    /// m̂ = m/c1, s = √(v/c2) and the update u = α·m̂/(s + ε) of parameter i, in the one order of
    /// operations the forward step and the reverse pass share (the corrections as reciprocals, so
    /// one division a parameter).
    @inline(__always)
    func update(_ i: Int, _ c: StepConstants) -> (mHat: Double, root: Double, update: Double) {
        let mHat = AdamMoment.value(m[i]) * c.inverse1
        let root = (AdamVariance.value(v[i]) * c.inverse2).squareRoot()
        return (mHat, root, c.alpha * mHat / (root + c.epsilon))
    }

    /// The scalars of iteration t, block k that the per-parameter loops use, read once per block.
    struct StepConstants {
        var alpha: Double, inverse1: Double, inverse2: Double, epsilon: Double
    }

    @inline(__always)
    func constants(step t: Int, block k: Int) -> StepConstants {
        StepConstants(
            alpha: schedule.learningRates[t][k], inverse1: 1 / correction1[t][k], inverse2: 1 / correction2[t][k],
            epsilon: schedule.epsilon)
    }

    /// One forward step with ∇L(w_t) in `gradient`: moments decayed through the buffers, the
    /// rounded increments added, then w moved. Throws `.diverged` if any state leaves its range.
    public func forward(step t: Int, gradient g: UnsafeBufferPointer<Double>) throws(TrainingError) {
        precondition(g.count >= parameterCount, "gradient shorter than the parameters")
        let limit = UInt64(FixedPoint.rawLimit)
        let mask: Int128 = 0xFFFF_FFFF, vMask: UInt128 = 0xFFFF_FFFF
        for (k, block) in blocks.enumerated() {
            if let factor = decay[t][k] {
                decayBuffer.multiply(w, segment: k, by: factor)
                for i in block { weights[i] = FixedPoint.value(w[i]) }
            } else if decaysEach[k] {
                decayBuffer.multiply(w, segment: k, numerators: decayFactors(step: t, block: k))
                for i in block { weights[i] = FixedPoint.value(w[i]) }
            }
            if usesKernels {
                try forwardKernel(step: t, block: k, gradient: g)
                continue
            }
            // m ← β1·m and v ← β2·v exactly: the buffer multiplies the low word, the rest is
            // multiplied whole (m >> 32 is the floor, so the low word is never negative).
            let n1 = Int128(beta1[t][k].numerator), n2 = UInt128(beta2[t][k].numerator)
            for i in block { low[i] = Int64(truncatingIfNeeded: m[i] & mask) }
            firstBuffer.multiply(low, segment: k, by: beta1[t][k])
            // Wrapping operators: |m|, v < 2^120 (checked on every increment), so nothing here overflows.
            for i in block { m[i] = (m[i] &>> 32) &* n1 &+ Int128(low[i]) }
            for i in block { low[i] = Int64(truncatingIfNeeded: v[i] & vMask) }
            secondBuffer.multiply(low, segment: k, by: beta2[t][k])
            for i in block { v[i] = (v[i] &>> 32) &* n2 &+ UInt128(UInt64(bitPattern: low[i])) }
            let decay1 = 1 - beta1[t][k].value, decay2 = 1 - beta2[t][k].value
            let c = constants(step: t, block: k)
            for i in block {
                guard let dm = AdamMoment.raw(decay1 * g[i]), let dv = AdamVariance.raw(decay2 * g[i] * g[i]) else {
                    throw .diverged(step: t, detail: "gradient of parameter \(i) is not finite or too large")
                }
                let first = m[i] &+ dm
                let (second, overflow) = v[i].addingReportingOverflow(dv)
                guard first.magnitude < AdamMoment.rawLimit, !overflow, second < AdamVariance.rawLimit else {
                    throw .diverged(step: t, detail: "a moment of parameter \(i) left the fixed-point range")
                }
                m[i] = first
                v[i] = second
                guard let decrement = increment(i, c) else {
                    throw .diverged(step: t, detail: "the step of parameter \(i) left the fixed-point range")
                }
                let position = w[i] - decrement
                guard position.magnitude < limit else {
                    throw .diverged(step: t, detail: "weight \(i) left the fixed-point range (|w| ≥ 1024)")
                }
                w[i] = position
                weights[i] = FixedPoint.value(position)
            }
        }
    }

    /// Undoes step t's weight update: w_t = (w_{t+1} + the same rounded increment) / (1 − α·λ).
    public func undoPosition(step t: Int) {
        for (k, block) in blocks.enumerated() {
            let c = constants(step: t, block: k)
            for i in block { restore(i, adding: increment(i, c)!) }
        }
        undoDecay(step: t)
    }

    /// w_i += `increment` (the forward step's rounded decrement, recomputed), and its Double view.
    @inline(__always)
    func restore(_ i: Int, adding increment: Int64) {
        let restored = w[i] + increment
        w[i] = restored
        weights[i] = FixedPoint.value(restored)
    }

    /// The second half of `undoPosition`, once every increment is back: w_t = (ρ·w_t) / ρ exactly.
    func undoDecay(step t: Int) {
        for (k, block) in blocks.enumerated() {
            if let factor = decay[t][k] {
                decayBuffer.divide(w, segment: k, by: factor)
            } else if decaysEach[k] {
                decayBuffer.divide(w, segment: k, numerators: decayFactors(step: t, block: k))
            } else {
                continue
            }
            for i in block { weights[i] = FixedPoint.value(w[i]) }
        }
    }

    /// The numerators n_i of the exact factors 1 − α_tk·λ_i ≈ n_i/2^32 of block k's parameters,
    /// written into `decayNumerators` (both directions compute the same ones).
    func decayFactors(step t: Int, block k: Int) -> UnsafeBufferPointer<UInt64> {
        let alpha = schedule.learningRates[t][k]
        schedule.parameterWeightDecay.withUnsafeBufferPointer { lambda in
            for i in blocks[k] {
                guard let factor = RationalFactor(approximating: 1 - alpha * lambda[i]) else {
                    preconditionFailure(
                        "α·λ = \(alpha * lambda[i]) is outside (0, 1); the tuning layer must keep it inside")
                }
                decayNumerators[i] = factor.numerator
            }
        }
        return UnsafeBufferPointer(decayNumerators)
    }

    /// Undoes step t's moment updates given ∇L(w_t) (recomputed at the restored w_t): subtract
    /// the same rounded increments, then divide by β1 and β2 exactly through the buffers.
    public func undoMoments(step t: Int, gradient g: UnsafeBufferPointer<Double>) {
        for (k, block) in blocks.enumerated() {
            if usesKernels {
                undoMomentsKernel(step: t, block: k, gradient: g, adjoint: nil)
                continue
            }
            let decay1 = 1 - beta1[t][k].value, decay2 = 1 - beta2[t][k].value
            let n1 = InformationBuffer.Divisor(beta1[t][k].numerator)
            let n2 = InformationBuffer.Divisor(beta2[t][k].numerator)
            // x' = H·n + L' with L' < n: floor division recovers both; then the buffer divides L'.
            for i in block {
                // Wrapping: an exact reversal never goes below 0, and the final check would catch it.
                let second = v[i] &- AdamVariance.raw(decay2 * g[i] * g[i])!
                let (high, rest) = AdamVariance.divMod(second, by: n2)
                v[i] = high
                low[i] = Int64(rest)
            }
            secondBuffer.divide(low, segment: k, by: beta2[t][k])
            for i in block { v[i] = v[i] &<< 32 &+ UInt128(UInt64(bitPattern: low[i])) }
            for i in block {
                let (high, rest) = AdamMoment.floorDivMod(m[i] &- AdamMoment.raw(decay1 * g[i])!, by: n1)
                m[i] = high
                low[i] = Int64(rest)
            }
            firstBuffer.divide(low, segment: k, by: beta1[t][k])
            for i in block { m[i] = m[i] &<< 32 &+ Int128(low[i]) }
        }
    }

    /// Whether w, m and v are back at w_1, 0, 0 with both buffers empty, bit for bit.
    public var isAtInitialState: Bool {
        (0..<parameterCount).allSatisfy { w[$0] == initialW[$0] && m[$0] == 0 && v[$0] == 0 }
            && firstBuffer.isEmpty && secondBuffer.isEmpty && decayBuffer.isEmpty
    }

    /// The exact state as raw integers, for tests: (w, m, v).
    public var rawState: (w: [Int64], m: [Int128], v: [UInt128]) {
        (Array(w), Array(m), Array(v))
    }

    /// Peak bits held by both buffers.
    public var peakStoredBits: Int {
        firstBuffer.peakStoredBits + secondBuffer.peakStoredBits + decayBuffer.peakStoredBits
    }

    /// Σ_t Σ_k |block k|·(log2(1/β1) + log2(1/β2)): what the two decays destroy.
    public var theoreticalBits: Double {
        var bits = 0.0
        for t in 0..<schedule.iterations {
            for (k, block) in blocks.enumerated() {
                let decayBits = decay[t][k]?.bitsLost ?? 0
                bits += Double(block.count) * (beta1[t][k].bitsLost + beta2[t][k].bitsLost + decayBits)
                if decaysEach[k] {
                    let numerators = decayFactors(step: t, block: k)
                    for i in block { bits += RationalFactor(numerator: numerators[i]).bitsLost }
                }
            }
        }
        return bits
    }
}
