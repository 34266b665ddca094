import Dashboard
import HTTPServer
import JSON
import Storage
import Tuning

/// The SVG plots: bounded in what they read and draw, rendered once per meta-iteration.
extension RewindAPI {
    /// `GET /v1/jobs/{id}/plots/{name}.svg`: rendered once per meta-iteration and kept (`PlotCache`),
    /// so a page viewed by many costs one render per new item, not one per view.
    func jobPlot(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let record = try existingJob(context[capture: "id"], context)
        let name = context[capture: "name"]
        let spec = (try? JSONValue.parse(record.specJSON)) ?? .null
        guard JobPlots.names(for: spec).contains(name) else {
            throw .notFound(
                "job \(record.id) has no plot \(name); it has \(JobPlots.names(for: spec).joined(separator: ", "))")
        }
        let version = "\(record.progressDone)/\(record.status.rawValue)"
        let svg: String
        if let cached = plotCache.get(jobID: record.id, name: name, version: version) {
            svg = cached
        } else {
            let items = try plotItems(record, name: name, spec: spec)
            guard let rendered = JobPlots.render(name: name, spec: spec, items: items, dataset: datasetShape(spec))
            else {
                throw .notFound("no plot \(name)")
            }
            plotCache.put(jobID: record.id, name: name, version: version, svg: rendered)
            svg = rendered
        }
        var headers = HTTPHeaders()
        // Finished jobs never change; running ones are re-fetched by the page on every new item.
        headers.set("Cache-Control", record.status.isTerminal ? "max-age=3600" : "no-cache")
        return HTTPResponse(headers: headers, text: svg, contentType: "image/svg+xml; charset=utf-8")
    }

    /// The data set's shape, which per-weight penalty maps need to be drawn as images.
    private func datasetShape(_ spec: JSONValue) -> JobPlots.DatasetShape? {
        guard let key = spec["dataset"]?["name"]?.stringValue ?? spec["dataset"]?["id"]?.stringValue else { return nil }
        if let builtin = BuiltinDatasets.info(key) {
            return JobPlots.DatasetShape(features: builtin.features, classes: builtin.classes)
        }
        guard let record = try? store.dataset(id: key) else { return nil }
        return JobPlots.DatasetShape(features: record.features, classes: record.classes)
    }

    /// Bytes of one member of a middle item a plot parses at most (a larger one, a per-weight
    /// vector of a big network, is drawn from the first and latest items only).
    static let plotMemberBytes = 1 << 20

    /// Bytes of member text a plot keeps from its middle items at most: past it, it keeps every
    /// second one of them, then every fourth, and so on (a chart cannot show more anyway).
    static let plotKeptBytes = 8 << 20

    /// The items a plot is drawn from, each reduced to what the plot draws (`JobPlots.reading`):
    /// the numbers storage keeps beside every item, plus the members the plot needs, read from
    /// the item's text without parsing the rest. Items are read only when the plot needs more
    /// than those numbers, a few megabytes at a time, each read's bytes and the members kept held
    /// from the node's budget; middle items are thinned (kept every 2^k-th) when what they
    /// contribute outgrows `plotKeptBytes`.
    func plotItems(_ record: JobRecord, name: String, spec: JSONValue) throws(APIError) -> [JSONValue] {
        let reading = JobPlots.reading(name: name, spec: spec)
        let reservation = try reservePageMemory(Self.pageWorkingBytes)
        defer { reservation.release() }
        let outlines = try historyOutlines(jobID: record.id)
        var items = outlines.map(Self.plotBase)
        guard !reading.needsNoItems, !outlines.isEmpty else {
            return items.map(JSONValue.object)
        }
        let firstIteration = outlines[0].metaIteration
        // Parsed members kept: the two ends' and the middle items' (by index into `items`).
        var endBytes = 0
        var middleBytes: [Int: Int] = [:]
        var keptMiddle = 0
        var stride = 1
        func held() -> Int { Self.pageWorkingBytes + Self.parsedBytesPerTextByte * (endBytes + keptMiddle) }
        let indexByIteration = Dictionary(
            outlines.enumerated().map { ($1.metaIteration, $0) }, uniquingKeysWith: { first, _ in first })
        /// Reads `reader`'s members of `row` into its item, holding their parsed size first: at
        /// most `bound` bytes of text, or, without a bound, what a first walk measures.
        func take(_ row: HistoryRow, _ reader: JSONMemberReader, bound: Int? = nil) throws(APIError) -> Int {
            guard let index = indexByIteration[row.metaIteration],
                let size = bound.map({ min($0, row.itemJSON.utf8.count) }) ?? reader.memberBytes(row.itemJSON)
            else { return 0 }
            try ensurePageMemory(reservation, held() + Self.parsedBytesPerTextByte * size)
            guard let (members, bytes) = reader.read(row.itemJSON) else { return 0 }
            for (key, value) in members { items[index][key] = value }
            return bytes
        }
        // The latest item first. Every item of a job has the same members, so those of `every`
        // that the latest lacks (`test_loss` without a test split) are not looked for in the others.
        var every = reading.every
        let latest = outlines[outlines.count - 1]
        if !(every + reading.latest).isEmpty {
            try forEachHistoryRow(jobID: record.id, [latest], reservation: reservation, held: held) {
                row throws(APIError) -> Bool in
                endBytes += try take(row, JSONMemberReader(paths: every + reading.latest))
                return true
            }
            every = every.filter { Self.has(items[outlines.count - 1], $0) }
        }
        guard outlines.count > 1, !(every + reading.first).isEmpty else { return items.map(JSONValue.object) }
        let middle = JSONMemberReader(paths: every, maxMemberBytes: Self.plotMemberBytes)
        let firstReader = JSONMemberReader(paths: every + reading.first)
        func wanted(_ index: Int) -> Bool {
            index == 0 ? true : !every.isEmpty && index % stride == 0
        }
        let wantedOutlines = outlines.indices.dropLast().filter(wanted).map { outlines[$0] }
        try forEachHistoryRow(jobID: record.id, wantedOutlines, reservation: reservation, held: held) {
            row throws(APIError) -> Bool in
            guard let index = indexByIteration[row.metaIteration], wanted(index) else { return true }
            if row.metaIteration == firstIteration {
                endBytes += try take(row, firstReader)
                return true
            }
            let bytes = try take(row, middle, bound: Self.plotMemberBytes * every.count)
            middleBytes[index] = bytes
            keptMiddle += bytes
            while keptMiddle > Self.plotKeptBytes && stride < outlines.count {
                // Too much kept: keep every second of the kept middle items, and read on likewise.
                stride *= 2
                for (dropped, size) in middleBytes where dropped % stride != 0 {
                    items[dropped] = Self.plotBase(outlines[dropped])
                    keptMiddle -= size
                    middleBytes[dropped] = nil
                }
            }
            return true
        }
        return items.map(JSONValue.object)
    }

    /// An item's numbers as storage keeps them beside it, as the item names them.
    static func outlineNumbers(_ outline: HistoryOutline) -> JSONObject {
        var item = JSONObject()
        item["meta_iteration"] = .number(Double(outline.metaIteration))
        item["training_loss"] = outline.trainingLoss.map(JSONValue.number) ?? .null
        item["validation_loss"] = outline.validationLoss.map(JSONValue.number) ?? .null
        item["validation_error"] = outline.validationError.map(JSONValue.number) ?? .null
        item["seconds"] = .number(outline.seconds)
        return item
    }

    /// Whether `item` has a member at `path`.
    static func has(_ item: JSONObject, _ path: [String]) -> Bool {
        guard let first = path.first, let value = item[first] else { return false }
        guard path.count > 1 else { return !value.isNull }
        guard case .object(let inner) = value else { return false }
        return has(inner, Array(path.dropFirst()))
    }

    /// What storage keeps beside an item, as the item's members: its losses, error, seconds and
    /// the hypergradient's norm (as a one-number vector with the same norm; null for the final
    /// item, which has none).
    static func plotBase(_ outline: HistoryOutline) -> JSONObject {
        var item = outlineNumbers(outline)
        item["hypergradient"] = outline.hypergradientNorm.map { .array([.number($0)]) } ?? .null
        return item
    }
}
