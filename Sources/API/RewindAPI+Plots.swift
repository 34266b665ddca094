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
            let items = try plotItems(record, name: name)
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

    /// The items a plot is drawn from, read a few rows at a time. Only the first and the latest
    /// items are kept whole (schedules, learning curves and learned inputs are drawn from those);
    /// every other item is cut to the numbers plotted per meta-iteration, so a long job whose
    /// items are megabytes each never has them all in memory.
    func plotItems(_ record: JobRecord, name: String) throws(APIError) -> [JSONValue] {
        let last = record.progressDone - 1
        if name == "training_data" {
            let rows = try storage { try store.history(jobID: record.id, after: max(-1, last - 1), limit: 1) }
            let reservation = try reservePageMemory(Self.pageWorkingBytes + 12 * (rows.first?.itemJSON.utf8.count ?? 0))
            defer { reservation.release() }
            return rows.compactMap { try? JSONValue.parse($0.itemJSON) }
        }
        // Parsed, an item takes several times its text: hold that from the node's budget, one
        // item at a time for the slimmed ones, plus the two kept whole.
        let reservation = try reservePageMemory(Self.pageWorkingBytes)
        defer { reservation.release() }
        var items: [JSONValue] = []
        var kept = 0
        try forEachHistoryRow(jobID: record.id, after: -1) { row throws(APIError) -> Bool in
            let whole = row.metaIteration == 0 || row.metaIteration >= last
            let parsed = 12 * row.itemJSON.utf8.count
            try ensurePageMemory(reservation, Self.pageWorkingBytes + kept + parsed)
            guard let item = try? JSONValue.parse(row.itemJSON) else { return true }
            if whole { kept += parsed }
            items.append(whole ? item : Self.slim(item, row))
            return true
        }
        return items
    }

    /// An item reduced to what is plotted against the meta-iteration: the losses and error, the
    /// hypergradient's norm (as a one-number vector with the same norm) and the small vectors
    /// (per-block L2 strengths, initial scales); tables and large vectors are dropped.
    static func slim(_ item: JSONValue, _ row: HistoryRow) -> JSONValue {
        guard case .object(let whole) = item else { return item }
        var slim = JSONObject()
        for key in ["meta_iteration", "training_loss", "validation_loss", "validation_error", "seconds"] {
            slim[key] = whole[key]
        }
        slim["hypergradient"] = row.hypergradientNorm.map { .array([.number($0)]) } ?? .null
        var hyperparameters = JSONObject()
        for key in ["l2", "init_scale"] {
            if let vector = whole["hyperparameters"]?[key], (vector.arrayValue?.count ?? 0) <= 4096 {
                hyperparameters[key] = vector
            }
        }
        slim["hyperparameters"] = .object(hyperparameters)
        return .object(slim)
    }
}
