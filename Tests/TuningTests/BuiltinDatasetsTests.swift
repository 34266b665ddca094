import Foundation
import Testing

@testable import Tuning

@Suite("Built-in datasets")
struct BuiltinDatasetsTests {
    @Test func digitsHasTheDocumentedShapeAndLabelCounts() {
        let digits = BuiltinDatasets.digits
        #expect(digits.info == DatasetInfo(rows: 1797, features: 64, classes: 10))
        #expect(digits.labelCounts == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
        #expect(digits.inputs.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(BuiltinDatasets.named("digits") == digits)
        #expect(BuiltinDatasets.named("fashion-mnist") == nil)
    }

    @Test func embeddedDigitsEqualTheGzippedCSV() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gunzip -c \"$0\"", root.appendingPathComponent("data/digits.csv.gz").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let bytes = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        let parsed = try CSVDatasetParser.parse(Array(bytes), name: "digits")
        let digits = BuiltinDatasets.digits
        #expect(parsed.labels == digits.labels)
        #expect(parsed.inputs.map { $0 / 16 } == digits.inputs)
    }
}
