import Testing

@testable import Tuning

@Suite("CSV dataset parser")
struct CSVDatasetParserTests {
    func parse(_ text: String) throws(DatasetParseError) -> Dataset {
        try CSVDatasetParser.parse(Array(text.utf8), name: "test")
    }

    @Test func readsFeaturesAndLabelsWithAHeaderAndCRLF() throws {
        let dataset = try parse("x1,x2,label\r\n0.5, -1e-3 ,1\r\n\"2\",3.25,0\r\n1,1,2\r\n\r\n\n")
        #expect(dataset.rows == 3 && dataset.features == 2 && dataset.classes == 3)
        #expect(dataset.inputs == [0.5, -1e-3, 2, 3.25, 1, 1])
        #expect(dataset.labels == [1, 0, 2])
        #expect(dataset.name == "test")
        #expect(dataset.labelCounts == [1, 1, 1])
    }

    @Test func readsWithoutAHeaderOrFinalNewline() throws {
        let dataset = try parse("1,0\n2,5")
        #expect(dataset.inputs == [1, 2] && dataset.labels == [0, 5] && dataset.classes == 6)
    }

    @Test(arguments: [
        ("1,2,0\n3,4\n", 2, 3, "expected 3 columns"),
        ("1,2,0\n3,4,1,5\n", 2, 4, "expected 3 columns"),
        ("1,2,0\n3,abc,1\n", 2, 2, "not a number: \"abc\""),
        ("1,2,0\n3,nan,1\n", 2, 2, "not a number"),
        ("1,2,0\n3,inf,1\n", 2, 2, "not a number"),
        ("1,2,0\n3,1e999,1\n", 2, 2, "out of range"),
        ("1,2,0\n3,4,1.5\n", 2, 3, "class label must be an integer"),
        ("1,2,0\n3,4,-1\n", 2, 3, "class label must be an integer"),
        ("1,2,0\n\n3,4,1\n", 2, 1, "empty row"),
        ("a,b\n", 1, 1, "no data rows"),
        ("", 1, 1, "no data rows"),
        ("1\n2\n", 1, 1, "at least 2 columns"),
        ("1,2,0\n3,4,0\n", 1, 3, "at least 2 distinct class labels"),
        ("h1,h2,h3\n1,2\n", 2, 3, "expected 3 columns"),
    ])
    func rejectsBadFilesAtTheFirstProblem(text: String, line: Int, column: Int, message: String) {
        #expect {
            _ = try parse(text)
        } throws: { error in
            guard let error = error as? DatasetParseError else { return false }
            return error.line == line && error.column == column && error.message.contains(message)
        }
    }

    @Test func parsesNumbersExactly() throws {
        let dataset = try parse("0.1,123456789.123456789,1e-300,0\n-0.3,2.5e+3,.5,1\n")
        #expect(dataset.inputs == [0.1, 123456789.123456789, 1e-300, -0.3, 2500, 0.5])
    }

    @Test func refusesTooManyFeatures() {
        let row = Array(repeating: "1", count: CSVDatasetParser.maxFeatures + 1).joined(separator: ",") + ",0\n"
        #expect(throws: DatasetParseError.self) { _ = try parse(row) }
    }
}
