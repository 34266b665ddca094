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
}
