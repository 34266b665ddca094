import Foundation
import Testing

@testable import Dashboard

@Suite("Axis ticks")
struct AxisScaleTests {
    /// Whether `step` is 1, 2 or 5 times a power of ten (within rounding).
    func isNice(_ step: Double) -> Bool {
        let exponent = floor(log10(step))
        let mantissa = step / pow(10, exponent)
        return [1.0, 2, 5, 10].contains { abs(mantissa - $0) < 1e-9 }
    }

    @Test(arguments: [
        (0.0, 1.0), (0.031, 0.87), (-3.2, 7.9), (1234.0, 98_765.0), (0.000_12, 0.000_19), (-50.0, -0.5), (2.0, 2.001),
    ])
    func linearTicksAreNiceEvenlySpacedAndCoverTheRange(minimum: Double, maximum: Double) {
        let axis = AxisScale.linear(minimum: minimum, maximum: maximum)
        #expect(axis.lower <= minimum && axis.upper >= maximum)
        #expect(axis.ticks.first == axis.lower && axis.ticks.last == axis.upper)
        #expect((3...12).contains(axis.ticks.count), "\(axis.ticks)")
        let steps = zip(axis.ticks.dropFirst(), axis.ticks).map { $0 - $1 }
        let step = steps[0]
        #expect(isNice(step), "step \(step)")
        #expect(steps.allSatisfy { abs($0 - step) <= step * 1e-9 })
        // The range is not padded by more than one step at either end.
        #expect(minimum - axis.lower < step && axis.upper - maximum < step)
    }

    @Test func tickLabelsPrintTheDecimalsOfTheStepExactly() {
        let axis = AxisScale.linear(minimum: 0.1, maximum: 0.72, target: 7)
        #expect(axis.labels == ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"])
    }

    @Test(arguments: [(0.998_99, 0.999_01), (2.0, 2.001), (0.000_12, 0.000_19), (-0.999_99, -0.999_9)])
    func everyTickOfAFineAxisHasALabelOfItsOwn(minimum: Double, maximum: Double) throws {
        let axis = AxisScale.linear(minimum: minimum, maximum: maximum)
        #expect(Set(axis.labels).count == axis.labels.count, "\(axis.labels)")
        // Each label reads back as its tick.
        for (tick, label) in zip(axis.ticks, axis.labels) {
            let value = try #require(Double(label), "\(label)")
            #expect(abs(value - tick) <= abs(axis.ticks[1] - axis.ticks[0]) * 0.01, "\(label) for \(tick)")
        }
    }

    @Test func integerAxesNeverStepBelowOne() {
        let axis = AxisScale.linear(minimum: 0, maximum: 2, integers: true)
        #expect(axis.ticks == [0, 1, 2])
        #expect(axis.labels == ["0", "1", "2"])
    }

    @Test func aSingleValueGetsARangeAroundIt() {
        let axis = AxisScale.linear(minimum: 0.5, maximum: 0.5)
        #expect(axis.lower < 0.5 && axis.upper > 0.5)
        let zero = AxisScale.linear(minimum: 0, maximum: 0)
        #expect(zero.lower < 0 && zero.upper > 0)
    }

    @Test func logTicksAreDecadesWhenTheRangeSpansManyDecades() {
        let axis = AxisScale.logarithmic(minimum: 3e-5, maximum: 2.5)
        #expect(axis.ticks == [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10])
        #expect(axis.labels == ["1e-5", "1e-4", "0.001", "0.01", "0.1", "1", "10"])
    }

    @Test func logTicksSkipDecadesWhenTheRangeIsHuge() {
        let axis = AxisScale.logarithmic(minimum: 1e-12, maximum: 1e3)
        #expect(axis.lower <= 1e-12 && axis.upper >= 1e3)
        #expect(axis.ticks.count <= 9)
        let exponents = axis.ticks.map { log10($0).rounded() }
        #expect(Set(zip(exponents.dropFirst(), exponents).map { $0 - $1 }).count == 1)
    }

    @Test func logTicksUseOneTwoFiveWithinAFewDecades() {
        let axis = AxisScale.logarithmic(minimum: 0.03, maximum: 0.4)
        #expect(axis.ticks.map { ($0 * 1000).rounded() / 1000 } == [0.02, 0.05, 0.1, 0.2, 0.5])
        #expect(axis.labels == ["0.02", "0.05", "0.1", "0.2", "0.5"])
    }

    @Test(arguments: [(0.5, 0.6), (0.81, 0.83), (7.0, 7.0), (1e-4, 1e-4)])
    func narrowLogRangesStillCoverTheDataWithPositiveTicks(minimum: Double, maximum: Double) {
        let axis = AxisScale.logarithmic(minimum: minimum, maximum: maximum)
        #expect(axis.lower <= minimum && axis.upper >= maximum && axis.lower > 0)
        #expect(axis.ticks.count >= 2 && axis.ticks.allSatisfy { $0 > 0 })
        #expect(axis.logarithmic)
    }

    @Test func positionsMapTheEndsToZeroAndOne() {
        let log = AxisScale.logarithmic(minimum: 1e-3, maximum: 9)
        #expect(abs(log.position(log.lower)) < 1e-12 && abs(log.position(log.upper) - 1) < 1e-12)
        #expect(abs(log.position(0.1) - 0.5) < 1e-12)  // 1e-3 ... 10: 0.1 is the middle decade
    }
}
