import Learning
import Testing

/// Every number a run produces, as bit patterns, so that equality means identical bits.
private func fingerprint(_ run: HypergradientRun) -> [UInt64] {
    let h = run.hypergradient
    let values =
        h.learningRates.flatMap { $0 } + h.momenta.flatMap { $0 } + h.l2 + h.initScales
        + h.initialWeights + (h.trainingInputs ?? []) + run.finalWeights + [run.objective] + run.trainingLosses
    return values.map(\.bitPattern) + [UInt64(run.bufferPeakBits)]
}

@Suite("Trainer threads")
struct TrainerThreadsTests {
    /// Two hidden layers, odd widths and an odd batch so every half split is uneven.
    let small = SmallProblem(hidden: [7, 5], iterations: 25, rows: 30, features: 9, classes: 4, seed: 3)

    @Test("one and two threads give the same hypergradient bit for bit, run after run")
    func hypergradientIsIdentical() throws {
        for objective in [MetaObjective.validation(small.validation), .training] {
            let problem = small.problem(objective: objective, batch: 7)
            let runs = try [1, 2, 2, 1].map { threads in
                try ReversibleTrainer(problem: problem, threads: threads)
                    .hypergradient(schedule: small.schedule, noise: small.noise, differentiateInputs: true)
            }
            let reference = fingerprint(runs[0])
            #expect(reference.count > 1000)
            for run in runs.dropFirst() { #expect(fingerprint(run) == reference) }
        }
    }

    @Test("plain training and forward-only training are identical with one and two threads")
    func trainingIsIdentical() throws {
        let problem = small.problem(batch: 7)
        let plain = [1, 2].map {
            ReversibleTrainer(problem: problem, threads: $0).trainPlain(schedule: small.schedule, noise: small.noise)
        }
        #expect(plain[0].map(\.bitPattern) == plain[1].map(\.bitPattern))
        let exact = try [1, 2].map {
            try ReversibleTrainer(problem: problem, threads: $0).train(schedule: small.schedule, noise: small.noise)
        }
        #expect(exact[0].map(\.bitPattern) == exact[1].map(\.bitPattern))
    }
}
