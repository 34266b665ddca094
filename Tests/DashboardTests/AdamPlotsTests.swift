import Dashboard
import Foundation
import JSON
import Testing

/// An Adam job's plots: β1 and β2 schedules in place of momentum, and the weight decays.
@Suite("Adam job plots")
struct AdamPlotsTests {
    /// The sample history made an Adam job's: momentum renamed β1, a β2 near 0.999, and one
    /// weight decay per weight block.
    static func adamItems(count: Int, decays: Bool) -> [JSONValue] {
        SampleHistory.items(count: count, hidden: [50, 50], iterations: 100, segments: 10).enumerated().map { m, item in
            guard case .object(var object) = item, case .object(var hyper)? = object["hyperparameters"] else {
                return item
            }
            hyper["beta1"] = hyper["momentum"]
            hyper["momentum"] = nil
            hyper["beta2"] = JSONValue((0..<10).map { s in (0..<6).map { b in 0.999 - 1e-4 * Double(m * s + b) } })
            hyper["epsilon"] = .number(1e-8)
            hyper["weight_decay"] = JSONValue(decays ? [1e-3, 2e-3 * Double(m + 1), 5e-4] : [Double]())
            object["hyperparameters"] = .object(hyper)
            return .object(object)
        }
    }

    static var spec: JSONValue {
        guard case .object(var object) = SampleHistory.spec(hidden: [50, 50], iterations: 100),
            case .object(var training)? = object["training"]
        else { return .null }
        training["optimizer"] = "adam"
        object["training"] = .object(training)
        return .object(object)
    }

    @Test func adamJobsHaveBetaAndWeightDecayPlotsInPlaceOfMomentum() {
        let names = JobPlots.names(for: Self.spec)
        #expect(
            names == [
                "loss", "error", "learning_curve", "learning_rate", "beta1", "beta2", "weight_decay", "l2",
                "init_scale", "hypergradient_norm",
            ])
        #expect(!JobPlots.names(for: SampleHistory.spec(hidden: [50, 50], iterations: 100)).contains("beta1"))
        #expect(JobPlots.render(name: "momentum", spec: Self.spec, items: []) == nil)
    }

    @Test func betaSchedulesAndWeightDecaysAreDrawn() throws {
        let items = Self.adamItems(count: 5, decays: true)
        for name in ["beta1", "beta2", "weight_decay"] {
            let svg = try #require(JobPlots.render(name: name, spec: Self.spec, items: items))
            let document = XMLDocumentSummary(svg)
            #expect(document.wellFormed, "\(name): \(document.parseError ?? "")")
            #expect(document.texts.contains(JobPlots.title(of: name)))
        }
        let beta2 = XMLDocumentSummary(JobPlots.render(name: "beta2", spec: Self.spec, items: items)!)
        #expect(beta2.texts.contains("β2") && beta2.texts.contains("W1") && beta2.texts.contains("b3"))
        let decay = XMLDocumentSummary(JobPlots.render(name: "weight_decay", spec: Self.spec, items: items)!)
        #expect(decay.texts.contains("W1") && decay.texts.contains("W3") && !decay.texts.contains("b1"))
        let off = XMLDocumentSummary(
            JobPlots.render(name: "weight_decay", spec: Self.spec, items: Self.adamItems(count: 3, decays: false))!)
        #expect(off.wellFormed && off.texts.contains { $0.contains("off in this job") })
    }
}
