import Testing

@testable import JSON

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesEveryKindOfValueAndKeepsMemberOrder() throws {
        let value = try JSONValue.parse(#" { "b": [1, -2.5e3, true, false, null], "a": "x\u00e9\n", "c": {} } "#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["b", "a", "c"])
        #expect(value["b"] == [1, -2500, true, false, nil])
        #expect(value["a"]?.stringValue == "xé\n")
        #expect(value["c"] == .object(JSONObject()))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONValue.parse(#"["\"\\\/\b\f\n\r\t", "\ud83d\ude00", "é😀"]"#)
        #expect(value == ["\"\\/\u{8}\u{c}\n\r\t", "😀", "é😀"])
    }

    @Test func readsNumbersToTheNearestDouble() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("0.1", 0.1), ("1e-4", 1e-4), ("123456789012345678", 123456789012345680),
            ("2.2250738585072014e-308", 2.2250738585072014e-308), ("4.9e-324", .leastNonzeroMagnitude),
            ("1.7976931348623157e308", 1.7976931348623157e308), ("0.30000000000000004", 0.30000000000000004),
            ("9007199254740993", 9007199254740992), ("1E+2", 100), ("1e-400", 0),
        ]
        for (text, expected) in cases {
            let value = try JSONValue.parse(text).doubleValue
            #expect(value?.bitPattern == expected.bitPattern, "\(text)")
        }
    }

    @Test(arguments: [
        ("", 1, 1, "empty document"),
        ("[1,]", 1, 4, "trailing comma"),
        ("{\"a\":1,}", 1, 8, "expected a member name"),
        ("[NaN]", 1, 2, "NaN and Infinity"),
        ("Infinity", 1, 1, "NaN and Infinity"),
        ("[1] x", 1, 5, "unexpected data after"),
        ("{\"a\": 1,\n \"a\": 2}", 2, 2, "duplicate member name \"a\""),
        ("[01]", 1, 3, "leading zeros"),
        ("[1.]", 1, 4, "expected a digit after '.'"),
        ("[-]", 1, 3, "expected a digit"),
        ("1e999", 1, 1, "too large"),
        ("\"\\ud800\"", 1, 2, "lone surrogate"),
        ("\"\\udc00x\"", 1, 2, "lone surrogate"),
        ("\"a\tb\"", 1, 3, "control character"),
        ("\"\\x\"", 1, 3, "invalid escape"),
        ("\"abc", 1, 5, "unterminated string"),
        ("[1 2]", 1, 4, "expected ',' or ']'"),
        ("{\"a\" 1}", 1, 6, "expected ':'"),
        ("tru", 1, 1, "invalid literal"),
        ("// c\n1", 1, 1, "unexpected character '/'"),
        ("\n\n  [é, 1]", 3, 4, "unexpected character"),
    ])
    func rejectsInvalidDocumentsWithAPosition(text: String, line: Int, column: Int, message: String) {
        #expect {
            _ = try JSONValue.parse(text)
        } throws: { error in
            guard let error = error as? JSONParseError else { return false }
            return error.line == line && error.column == column && error.message.contains(message)
        }
    }

    @Test func rejectsInvalidUTF8InsideStrings() {
        let documents: [[UInt8]] = [
            [0x22, 0xC3, 0x22],  // truncated two-byte sequence
            [0x22, 0xC0, 0xAF, 0x22],  // overlong '/'
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8-encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xFF, 0x22],
        ]
        for bytes in documents {
            #expect(throws: JSONParseError.self) { _ = try JSONValue.parse(bytes) }
        }
        #expect((try? JSONValue.parse([0x22, 0xE2, 0x82, 0xAC, 0x22])) == "€")
    }

    @Test func skipsALeadingByteOrderMark() throws {
        #expect(try JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)) == [1])
    }

    @Test func enforcesTheDepthLimit() throws {
        let limits = JSONParseLimits(maxDepth: 3)
        #expect(try JSONValue.parse("[[[1]]]", limits: limits) == [[[1]]])
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse("[[[[1]]]]", limits: limits) }
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse(deep) }
    }

    @Test func enforcesTheStringAndElementLimits() throws {
        let limits = JSONParseLimits(maxStringBytes: 4, maxElements: 4)
        #expect(try JSONValue.parse("\"abcd\"", limits: limits) == "abcd")
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse("\"abcde\"", limits: limits) }
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse("\"ab\\ncd\"", limits: limits) }
        #expect(try JSONValue.parse("[1,2,3]", limits: limits) == [1, 2, 3])
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse("[1,2,3,4]", limits: limits) }
    }

    @Test func detectsDuplicateNamesInLargeObjects() {
        let members = (0..<40).map { "\"k\($0)\": \($0)" } + ["\"k20\": 0"]
        let text = "{" + members.joined(separator: ",") + "}"
        #expect(throws: JSONParseError.self) { _ = try JSONValue.parse(text) }
    }
}
