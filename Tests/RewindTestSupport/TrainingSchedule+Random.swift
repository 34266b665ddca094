import Learning

extension TrainingSchedule {
    /// A random schedule for the checks against finite differences, drawn from `random` in this
    /// order: α, then γ, per iteration and block; L2 per weight (0 on biases); an init scale per
    /// block. Each value is `base + spread·u` with u uniform in [0, 1) and (base, spread) the
    /// group's range.
    public static func random(
        iterations: Int, blocks: [ParameterBlock], learningRates: (base: Double, spread: Double),
        momenta: (base: Double, spread: Double), l2: (base: Double, spread: Double),
        initScales: (base: Double, spread: Double), using random: inout SplitMix64
    ) -> TrainingSchedule {
        func draw(_ range: (base: Double, spread: Double)) -> Double { range.base + range.spread * random.nextUnit() }
        let learningRates = (0..<iterations).map { _ in blocks.map { _ in draw(learningRates) } }
        let momenta = (0..<iterations).map { _ in blocks.map { _ in draw(momenta) } }
        let l2 = blocks.flatMap { block in block.range.map { _ in block.kind == .weight ? draw(l2) : 0 } }
        return TrainingSchedule(
            iterations: iterations, learningRates: learningRates, momenta: momenta, l2: l2,
            initScales: blocks.map { _ in draw(initScales) })
    }
}
