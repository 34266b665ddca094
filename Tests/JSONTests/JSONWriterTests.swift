import RewindTestSupport
import Testing

@testable import JSON

@Suite("JSON writer")
struct JSONWriterTests {
    @Test func writesIntegersWithoutAFractionAndOtherDoublesShortest() {
        let value: JSONValue = [0, -0.0, 1, -42, 100, 0.1, 1e-4, 2.5, 9007199254740992, 1e300, -1.5e-7]
        #expect(value.serializedString() == "[0,-0,1,-42,100,0.1,0.0001,2.5,9007199254740992.0,1e+300,-1.5e-07]")
    }

    @Test func writesNonFiniteNumbersAsNull() {
        let value = JSONValue([Double.nan, .infinity, -.infinity])
        #expect(value.serializedString() == "[null,null,null]")
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        let value: JSONValue = ["a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}/é😀"]
        #expect(value.serializedString() == #"["a\"b\\c\n\r\t\b\f\u0001\u001f/é😀"]"#)
    }

    @Test func keepsObjectMembersInInsertionOrder() {
        var object = JSONObject()
        object["zeta"] = 1
        object["alpha"] = 2
        object["mid"] = [true, nil]
        object["alpha"] = 3
        #expect(JSONValue.object(object).serializedString() == #"{"zeta":1,"alpha":3,"mid":[true,null]}"#)
        object["zeta"] = nil
        #expect(object.keys == ["alpha", "mid"])
    }

    @Test func roundTripsRandomDoublesBitForBit() throws {
        var generator = SeededGenerator(seed: 7)
        var numbers: [Double] = []
        for _ in 0..<20_000 {
            let bits = generator.next()
            let number = Double(bitPattern: bits)
            if number.isFinite { numbers.append(number) }
            numbers.append(Double(Int64(bitPattern: bits) >> 20) / 1024)
        }
        let parsed = try JSONValue.parse(JSONValue(numbers).serialized())
        let back = try #require(parsed.doubleArrayValue)
        #expect(back.count == numbers.count)
        #expect(zip(back, numbers).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    @Test func roundTripsNestedDocuments() throws {
        let value: JSONValue = [
            "name": "digits \"schedules\"", "list": [[0.5, 0.25], [], [:]], "flag": false, "none": nil,
            "unicode": "\u{2028}ü\u{10FFFF}",
        ]
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test func objectEqualityIgnoresMemberOrder() {
        let first: JSONValue = ["a": 1, "b": [2]]
        let second: JSONValue = ["b": [2], "a": 1]
        #expect(first == second)
        #expect(first != ["a": 1, "b": [3]])
        #expect(first != ["a": 1])
    }

    @Test func accessorsReturnNilForOtherKinds() {
        let value: JSONValue = ["n": 3, "x": 2.5, "s": "t", "a": [1]]
        #expect(value["n"]?.intValue == 3)
        #expect(value["x"]?.intValue == nil)
        #expect(value["x"]?.doubleValue == 2.5)
        #expect(value["s"]?.doubleValue == nil)
        #expect(value["a"]?[0] == 1)
        #expect(value["a"]?[1] == nil)
        #expect(value["missing"] == nil)
        #expect(value["s"]?["x"] == nil)
    }
}
