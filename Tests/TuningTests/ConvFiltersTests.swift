import Testing
import Tuning

@Suite("Conv filters in a history item")
struct ConvFiltersUnitTests {
    @Test func filtersAreReorderedFilterByFilterFromRewindsLayout() throws {
        // Rewind's layout (ky, kx, c, f) with k = 2, c = 2, f = 3: value = 1000·ky + 100·kx + 10·c + f.
        var weights: [Double] = []
        for ky in 0..<2 {
            for kx in 0..<2 {
                for c in 0..<2 { for f in 0..<3 { weights.append(Double(1000 * ky + 100 * kx + 10 * c + f)) } }
            }
        }
        let filters = try #require(HistoryItem.ConvFilters(weights: weights[...], filters: 3, kernel: 2, channels: 2))
        #expect(filters.filters == 3)
        #expect(Array(filters.values.prefix(8)) == [0, 10, 100, 110, 1000, 1010, 1100, 1110])
        #expect(filters.values[8] == 1)
    }

    @Test func atMostMaxValuesAreKeptAsWholeFilters() throws {
        // 64 filters of 5×5×3 = 75 values: 54 fit in 4096.
        let weights = [Double](repeating: 0.5, count: 5 * 5 * 3 * 64)
        let filters = try #require(HistoryItem.ConvFilters(weights: weights[...], filters: 64, kernel: 5, channels: 3))
        #expect(filters.filters == 4096 / 75 && filters.values.count == filters.filters * 75)
        // One filter larger than the bound: none kept.
        let huge = [Double](repeating: 0, count: 11 * 11 * 64 * 2)
        #expect(HistoryItem.ConvFilters(weights: huge[...], filters: 2, kernel: 11, channels: 64) == nil)
    }
}
