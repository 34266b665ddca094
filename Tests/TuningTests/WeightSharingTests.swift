import JSON
import Learning
import Testing
import Tuning

@Suite("The Omniglot weight-sharing tasks and run")
struct WeightSharingTests {
    @Test("the embedded Omniglot set decodes to 5 alphabets, 136 characters of 15 drawings in [0, 1]")
    func decodes() {
        #expect(OmniglotTasks.alphabets == ["Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"])
        #expect(OmniglotTasks.characterCounts == [24, 22, 24, 40, 26])
        #expect(OmniglotTasks.classes == 40)
        let test = OmniglotTasks.test(alphabets: 5, rotations: true)
        #expect(test.count == 10)
        #expect(test.map(\.rows) == [24, 22, 24, 40, 26, 24, 22, 24, 40, 26].map { 3 * $0 })
        #expect(test.allSatisfy { $0.inputs.allSatisfy { (0...1).contains($0) } })
        // Ink is sparse but present in every drawing.
        for rows in test {
            for r in 0..<rows.rows {
                let ink = rows.inputs[(r * 784)..<((r + 1) * 784)].filter { $0 > 0 }.count
                #expect(ink > 10 && ink < 500)
            }
        }
    }

    @Test("a rotated task holds its alphabet's drawings turned by 90°")
    func rotation() {
        let test = OmniglotTasks.test(alphabets: 2, rotations: true)
        let upright = test[1], turned = test[3]
        #expect(upright.labels == turned.labels)
        for y in 0..<28 {
            for x in 0..<28 { #expect(turned.inputs[y * 28 + x] == upright.inputs[x * 28 + 27 - y]) }
        }
    }

    @Test("every seed splits each character's 12 drawings 10/2, the same way for its rotated task")
    func splits() {
        let first = OmniglotTasks.split(alphabets: 5, rotations: true, validation: 2, seed: 1)
        let second = OmniglotTasks.split(alphabets: 5, rotations: true, validation: 2, seed: 2)
        #expect(first.training.map(\.rows) == [24, 22, 24, 40, 26, 24, 22, 24, 40, 26].map { 10 * $0 })
        #expect(first.validation.map(\.rows) == [24, 22, 24, 40, 26, 24, 22, 24, 40, 26].map { 2 * $0 })
        #expect(first.validation[0].inputs != second.validation[0].inputs)
        // No drawing is in both, and none is a test drawing.
        let test = OmniglotTasks.test(alphabets: 5, rotations: true)
        func images(_ rows: LabelledRows) -> Set<[Double]> {
            Set((0..<rows.rows).map { Array(rows.inputs[($0 * 784)..<(($0 + 1) * 784)]) })
        }
        for task in 0..<10 {
            #expect(images(first.training[task]).isDisjoint(with: images(first.validation[task])))
            #expect(images(first.validation[task]).isDisjoint(with: images(test[task])))
        }
    }

    @Test("a reduced run moves the transforms and reports every task's test error")
    func reducedRun() throws {
        var settings = WeightSharingSettings()
        settings.alphabets = 2
        settings.hidden = [6]
        settings.iterations = 5
        settings.metaIterations = 3
        settings.seed = 4
        let result = try WeightSharingRun(settings: settings).run()
        #expect(result.tasks == ["Balinese", "Early_Aramaic", "Balinese rotated", "Early_Aramaic rotated"])
        #expect(result.transforms.count == 2 && result.transforms.allSatisfy { $0.count == 16 })
        #expect(result.transforms != settings.initialTransforms)
        #expect(result.objectives.count == 3 && result.objectives.allSatisfy(\.isFinite))
        #expect(result.learnedTestErrors.count == 4 && result.learnedTestErrors.allSatisfy { (0...1).contains($0) })
    }
}

@Suite("Weight-sharing specs")
struct WeightSharingSpecTests {
    @Test("the example specs parse to the paper's settings and the stated reduction")
    func examples() throws {
        let paper = try WeightSharingSettings.parse(
            try JSONValue.parse(
                """
                {"kind": "weight_sharing", "dataset": {"name": "omniglot"},
                 "model": {"hidden": [400, 200], "sharing": {"tasks": "alphabets+rotations", "learn": "transforms"}},
                 "training": {"iterations": 50, "learning_rate": 1.0, "momentum": 0.9},
                 "meta": {"iterations": 20, "step_size": 0.2, "validation_drawings": 2, "seed": 0}}
                """))
        #expect(paper == WeightSharingSettings())
        #expect(paper.tasks == 10)
        let reduced = try WeightSharingSettings.parse(
            try JSONValue.parse(#"{"kind": "weight_sharing", "model": {"hidden": [100, 50]}}"#))
        #expect(reduced.hidden == [100, 50] && reduced.iterations == 50 && reduced.metaIterations == 20)
    }

    @Test("bad fields are all reported, each by its JSON pointer")
    func errors() {
        let document = try! JSONValue.parse(
            """
            {"kind": "sgd", "dataset": {"name": "digits"}, "model": {"hidden": [0, "x"], "sharing": {"learn": "z"}},
             "training": {"momentum": 1.5, "iterations": true}, "meta": {"seed": -1, "extra": 1}}
            """)
        #expect(throws: SpecErrors.self) { try WeightSharingSettings.parse(document) }
        do {
            _ = try WeightSharingSettings.parse(document)
        } catch {
            #expect(
                error.errors.map(\.field) == [
                    "/kind", "/dataset/name", "/model/hidden/0", "/model/hidden/1", "/model/sharing/learn",
                    "/training/iterations", "/training/momentum", "/meta/extra", "/meta/seed",
                ])
        }
    }
}
