import JSON
import Testing

@testable import Dashboard

@Suite("Weight-sharing heat maps")
struct SharingPlotTests {
    static let tasks = ["Greek", "Latin", "Greek rotated", "Latin rotated"]
    static let transforms: [[Double]] = (0..<3).map { l in
        (0..<16).map { i -> Double in
            let own: Double = i / 4 == i % 4 ? 0.5 : 0.05
            return own + 0.01 * Double(l)
        }
    }

    func pixels(_ document: XMLDocumentSummary) -> [XMLDocumentSummary.Element] {
        document.all("rect").filter { ($0.attributes["fill"] ?? "").hasPrefix("#") && $0.attributes["stroke"] == nil }
            .dropFirst().map { $0 }
    }

    @Test("one tasks × tasks heat map per layer, titled, with every task named")
    func threeMaps() {
        let document = XMLDocumentSummary(JobPlots.sharingTransforms(tasks: Self.tasks, transforms: Self.transforms))
        #expect(document.wellFormed, "\(document.parseError ?? "")")
        #expect(pixels(document).count == 3 * 16)
        #expect((1...3).allSatisfy { l in document.texts.contains { $0.hasPrefix("T\(l) ") } })
        #expect(document.texts.contains { $0.contains("1–2: Greek, Latin; 3–4: the same rotated by 90°") })
    }

    @Test("the off-diagonal view leaves each task's own entry blank")
    func offDiagonal() {
        let document = XMLDocumentSummary(
            JobPlots.sharingTransforms(tasks: Self.tasks, transforms: Self.transforms, offDiagonal: true))
        #expect(document.wellFormed)
        #expect(pixels(document).count == 3 * 12)
    }

    @Test("a weight_sharing job has the heat-map plots and no schedule plots; they draw its latest item's T_l")
    func jobPlots() throws {
        let spec: JSONValue = ["kind": "weight_sharing", "dataset": ["name": "omniglot"]]
        let names = JobPlots.names(for: spec)
        #expect(names == ["loss", "error", "learning_curve", "hypergradient_norm", "transforms", "sharing"])
        #expect(!JobPlots.names(for: ["dataset": ["name": "digits"]]).contains("transforms"))
        func item(_ m: Int, _ scale: Double) -> JSONValue {
            let layers = Self.transforms.map { t in
                JSONValue.array((0..<4).map { a in JSONValue(t[(a * 4)..<((a + 1) * 4)].map { $0 * scale }) })
            }
            return [
                "meta_iteration": .number(Double(m)), "training_loss": 1, "validation_loss": 2, "validation_error": 0.5,
                "hyperparameters": ["transforms": .array(layers)],
                "sharing": ["tasks": .array(Self.tasks.map { .string($0) })],
            ]
        }
        // Items in any order: the latest is drawn.
        let svg = try #require(JobPlots.render(name: "transforms", spec: spec, items: [item(1, 2), item(0, 1)]))
        let document = XMLDocumentSummary(svg)
        #expect(document.wellFormed && pixels(document).count == 3 * 16)
        #expect(document.texts.contains { $0.hasPrefix("item 1; ") })
        let empty = try #require(JobPlots.render(name: "sharing", spec: spec, items: []))
        #expect(XMLDocumentSummary(empty).texts.contains("no data yet"))
        #expect(JobPlots.render(name: "learning_rate", spec: spec, items: []) == nil)
    }
}
