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
        guard !reading.needsNoItems, let lastIteration = outlines.last?.metaIteration else {
            return items.map(JSONValue.object)
        }
        let firstIteration = outlines[0].metaIteration
        let middle = JSONMemberReader(paths: reading.every, maxMemberBytes: Self.plotMemberBytes)
        let firstReader = JSONMemberReader(paths: reading.every + reading.first)
        let latestReader = JSONMemberReader(paths: reading.every + reading.latest)
        // Parsed members kept: the two ends' and the middle items' (by index into `items`).
        var endBytes = 0
        var middleBytes: [Int: Int] = [:]
        var keptMiddle = 0
        var stride = 1
        func held() -> Int { Self.pageWorkingBytes + Self.parsedBytesPerTextByte * (endBytes + keptMiddle) }
        func isEnd(_ iteration: Int) -> Bool { iteration == firstIteration || iteration == lastIteration }
        func wanted(_ index: Int) -> Bool {
            let iteration = outlines[index].metaIteration
            if iteration == lastIteration { return !(reading.every + reading.latest).isEmpty }
            if iteration == firstIteration { return !(reading.every + reading.first).isEmpty }
            return !reading.every.isEmpty && index % stride == 0
        }
        let indexByIteration = Dictionary(
            outlines.enumerated().map { ($1.metaIteration, $0) }, uniquingKeysWith: { first, _ in first })
        let wantedOutlines = outlines.indices.filter(wanted).map { outlines[$0] }
        try forEachHistoryRow(jobID: record.id, wantedOutlines, reservation: reservation, held: held) {
            row throws(APIError) -> Bool in
            guard let index = indexByIteration[row.metaIteration], wanted(index) else { return true }
            let end = isEnd(row.metaIteration)
            // An end's members are parsed whole: hold their parsed size before parsing.
            if end {
                try ensurePageMemory(
                    reservation, held() + Self.parsedBytesPerTextByte * row.itemJSON.utf8.count + 2 * row.itemJSON.utf8.count)
            }
            let reader = row.metaIteration == lastIteration ? latestReader : end ? firstReader : middle
            guard let (members, bytes) = reader.read(row.itemJSON) else { return true }
            for (key, value) in members { items[index][key] = value }
            if end {
                endBytes += bytes
                return true
            }
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
            try ensurePageMemory(reservation, held())
            return true
        }
        return items.map(JSONValue.object)
    }

    /// What storage keeps beside an item, as the item's members: its losses, error, seconds and
    /// the hypergradient's norm (as a one-number vector with the same norm; null for the final
    /// item, which has none).
    static func plotBase(_ outline: HistoryOutline) -> JSONObject {
        var item = JSONObject()
        item["meta_iteration"] = .number(Double(outline.metaIteration))
        item["training_loss"] = outline.trainingLoss.map(JSONValue.number) ?? .null
        item["validation_loss"] = outline.validationLoss.map(JSONValue.number) ?? .null
        item["validation_error"] = outline.validationError.map(JSONValue.number) ?? .null
        item["seconds"] = .number(outline.seconds)
        item["hypergradient"] = outline.hypergradientNorm.map { .array([.number($0)]) } ?? .null
        return item
    }
}
