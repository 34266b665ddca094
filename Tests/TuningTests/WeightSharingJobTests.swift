import Foundation
import JSON
import Learning
import Testing

@testable import Tuning

/// The weight-sharing experiment as a job kind: its spec, its items, resuming and its memory bound.
@Suite("Weight-sharing jobs")
struct WeightSharingJobTests {
    static let tiny = #"""
        {"kind": "weight_sharing", "name": "tiny sharing", "dataset": {"name": "omniglot"},
         "model": {"hidden": [6], "sharing": {"tasks": "alphabets+rotations", "alphabets": 2}},
         "training": {"iterations": 5}, "meta": {"iterations": 2, "seed": 4}}
        """#

    static func run(_ text: String = tiny) throws -> WeightSharingRun {
        let submitted = try JobRequest.prepareJob(
            specJSON: try JSONValue.parse(text), datasets: BuiltinDatasetResolver()
        )
        .get()
        return try #require(submitted.run as? WeightSharingRun)
    }

    /// Every item of a run, each step from the last one's checkpoint.
    static func items(_ run: WeightSharingRun, from start: TuningCheckpoint? = nil) throws -> [HistoryItem] {
        var checkpoint = start ?? run.initialCheckpoint()
        var items: [HistoryItem] = []
        while !run.isComplete(checkpoint) {
            let (item, next) = try run.step(checkpoint)
            items.append(item)
            checkpoint = next
        }
        return items
    }

    static func problems(_ text: String) -> [String] {
        guard let value = try? JSONValue.parse(text) else { return ["not JSON"] }
        guard case .failure(let error) = JobRequest.prepareJob(specJSON: value, datasets: BuiltinDatasetResolver())
        else { return [] }
        return error.errors.map(\.field)
    }

    @Test("a weight_sharing spec prepares to a run whose canonical spec reads back to the same settings")
    func canonicalSpecRoundTrips() throws {
        let run = try Self.run()
        #expect(run.name == "tiny sharing")
        #expect(run.settings.tasks == 4 && run.settings.hidden == [6] && run.settings.seed == 4)
        #expect(run.totalItems == 3)
        let decoded = try JobRequest.decodeJob(canonicalSpec: run.canonicalSpec, datasets: BuiltinDatasetResolver())
            .get()
        #expect((decoded as? WeightSharingRun)?.settings == run.settings)
        #expect(decoded.canonicalSpec == run.canonicalSpec)
        let spec = try JSONValue.parse(run.canonicalSpec)
        #expect(spec["kind"] == "weight_sharing" && spec["dataset"]?["name"] == "omniglot")
        #expect(spec["model"]?["sharing"]?["layers"] == [1, 2])
        // The examples are job specs as they are.
        for name in ["omniglot-sharing.json", "omniglot-sharing-reduced.json"] {
            let text = try String(contentsOfFile: "\(ExampleDirectory.path)/\(name)", encoding: .utf8)
            #expect(try Self.run(text).settings.metaIterations == 20, "\(name)")
        }
    }

    @Test("bad weight-sharing specs are refused naming every bad field")
    func badSpecsNameTheirFields() {
        #expect(Self.problems(#"{"kind": "sharing"}"#) == ["/kind"])
        #expect(Self.problems(#"{"kind": 3}"#) == ["/kind"])
        #expect(
            Self.problems(
                #"{"kind": "weight_sharing", "model": {"hidden": [6], "sharing": {"alphabets": 9, "layers": [3, 1, 1]}}}"#
            ) == ["/model/sharing/alphabets", "/model/sharing/layers"])
        #expect(
            Self.problems(#"{"kind": "weight_sharing", "model": {"hidden": [6], "sharing": {"layers": [1, 1]}}}"#)
                == ["/model/sharing/layers/1"])
        #expect(
            Self.problems(
                #"{"kind": "weight_sharing", "training": {"iterations": 5000, "momentum": 1}, "meta": {"iterations": 0}, "split": {}}"#
            ) == ["/split", "/training/iterations", "/training/momentum", "/meta/iterations"])
        #expect(Self.problems(#"{"kind": "weight_sharing", "dataset": {"name": "digits"}}"#) == ["/dataset/name"])
        #expect(Self.problems(#"{"kind": "weight_sharing", "model": {"hidden": [5000]}}"#) == ["/model/hidden/0"])
    }

    @Test("the job's first hypergradient for T is the experiment command's, and its items end at the command's T_l")
    func jobPathEqualsTheExperimentCommand() throws {
        let run = try Self.run()
        let (first, _) = try run.step(run.initialCheckpoint())
        // What `rewind experiment-sharing` computes for meta-iteration 0, directly from the trainer.
        let settings = run.settings
        let problem = run.problem(transforms: settings.initialTransforms, seed: settings.seed)
        let (schedule, noise) = run.schedule(for: problem.model, seed: settings.seed)
        let direct = try SharedWeightTrainer(problem: problem).hypergradient(schedule: schedule, noise: noise)
        let n = settings.tasks
        let matrices = direct.transforms.map { t in (0..<n).map { a in Array(t[(a * n)..<((a + 1) * n)]) } }
        #expect(first.hypergradient?.transforms == matrices)
        #expect(first.sharing?.objective == direct.objective)

        let items = try Self.items(run)
        let command = try WeightSharingRun(settings: settings).run()
        let learned = command.transforms.map { t in (0..<n).map { a in Array(t[(a * n)..<((a + 1) * n)]) } }
        #expect(items.last?.hyperparameters.transforms == learned)
        #expect(items.dropLast().map { $0.sharing?.objective } == command.objectives)
        #expect(items.last?.sharing?.testErrors == command.learnedTestErrors)
        #expect(items.last?.sharing?.initialTestErrors == command.initialTestErrors)
        #expect(items.last?.hypergradient == nil && items.last?.testError.map { (0...1).contains($0) } == true)
        #expect(
            items.allSatisfy {
                $0.sharing?.tasks == ["Balinese", "Early_Aramaic", "Balinese rotated", "Early_Aramaic rotated"]
            })
    }

    @Test("resumed from a stored checkpoint, a job writes the same items bit for bit")
    func resumesBitIdentically() throws {
        let run = try Self.run()
        let whole = try Self.items(run)
        let (first, next) = try run.step(run.initialCheckpoint())
        let stored = try JSONDecoder().decode(TuningCheckpoint.self, from: JSONEncoder().encode(next))
        #expect(run.fits(stored))
        #expect([first] + (try Self.items(run, from: stored)) == whole)
    }

    @Test("only the listed layers' transforms move, and a false from progress cancels the item")
    func learnedLayersAndCancel() throws {
        let run = try Self.run(
            Self.tiny.replacingOccurrences(of: #""alphabets": 2"#, with: #""alphabets": 2, "layers": [2]"#))
        let (_, next) = try run.step(run.initialCheckpoint())
        let moved = run.transforms(next.unconstrained)
        #expect(moved[0] == run.settings.initialTransforms[0] && moved[1] != run.settings.initialTransforms[1])
        var calls = 0
        #expect(throws: TuningError.cancelled) {
            _ = try run.step(run.initialCheckpoint()) { _ in
                calls += 1
                return calls < 3
            }
        }
    }

    @Test("the memory estimate bounds the information buffer a real run holds, and the paper's size needs about 1.3 GB")
    func memoryEstimateBoundsARealRun() throws {
        let run = try Self.run(
            Self.tiny.replacingOccurrences(of: #""iterations": 5}"#, with: #""iterations": 40, "momentum": 0.5}"#))
        let estimate = run.memoryEstimate(at: run.initialCheckpoint().unconstrained)
        let settings = run.settings
        let problem = run.problem(transforms: settings.initialTransforms, seed: settings.seed)
        let (schedule, noise) = run.schedule(for: problem.model, seed: settings.seed)
        let real = try SharedWeightTrainer(problem: problem).hypergradient(schedule: schedule, noise: noise)
        #expect(estimate.bufferBytes >= real.bufferPeakBits / 8)
        // One bit per parameter and step at γ = 0.5, plus a word per parameter.
        let n = problem.model.parameterCount
        #expect(abs(Double(estimate.bufferBytes - 8 * n) - Double(40 * n) / 8) < Double(n))
        #expect(run.memoryProblem(budget: 1 << 30) == nil)

        let paper = try Self.run(
            try String(contentsOfFile: "\(ExampleDirectory.path)/omniglot-sharing.json", encoding: .utf8))
        let total = paper.memoryEstimate(at: paper.initialCheckpoint().unconstrained).totalBytes
        #expect(total > 1 << 30 && total < 2 << 30, "\(total)")
        let problem2 = try #require(paper.memoryProblem(budget: 1 << 30))
        #expect(problem2.code == "over-memory-budget" && problem2.errors.map(\.field).contains("/model/hidden"))
    }
}

/// `examples/`, beside the test sources.
enum ExampleDirectory {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples").path
}
