/// Reduces a long run of points to at most a given number while keeping its shape.
///
/// A chart 600 units wide cannot show more than a few hundred distinct x positions, yet a schedule
/// may have 100 000 iterations. Each bucket of consecutive points keeps its lowest and highest
/// point, in their original order, so spikes survive where averaging or striding would hide them.
enum LineDecimation {
    static func reduce(_ points: [SVGLineChart.Point], to limit: Int) -> [SVGLineChart.Point] {
        guard points.count > limit, limit >= 4 else { return points }
        let buckets = limit / 2
        var result: [SVGLineChart.Point] = []
        result.reserveCapacity(buckets * 2)
        for bucket in 0..<buckets {
            let start = bucket * points.count / buckets
            let end = (bucket + 1) * points.count / buckets
            guard start < end else { continue }
            var low = start, high = start
            for index in start..<end {
                if points[index].y < points[low].y { low = index }
                if points[index].y > points[high].y { high = index }
            }
            if low == high {
                result.append(points[low])
            } else {
                result.append(points[min(low, high)])
                result.append(points[max(low, high)])
            }
        }
        return result
    }
}
