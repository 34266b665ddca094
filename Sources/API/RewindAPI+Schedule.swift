import HTTPServer
import JSON
import Jobs
import Storage
import Tuning

/// `GET /v1/jobs/{id}/schedule?item=N&format=json|csv`: one history item's hyperparameters
/// expanded to the per-iteration, per-block table the inner training applied, so that the
/// learned schedule can be run in another trainer (docs/using-learned-schedules.md).
extension RewindAPI {
    func jobSchedule(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let record = try existingJob(context[capture: "id"], context)
        let format = context.request.query("format") ?? "json"
        guard format == "json" || format == "csv" else { throw .invalidQuery("format", "must be json or csv") }
        let item: Int
        if context.request.query("item") != nil {
            item = try integerQuery(context.request, "item", default: 0, range: 0...max(0, record.progressTotal - 1))
        } else if let best = record.bestJSON.flatMap({ try? JSONValue.parse($0)["meta_iteration"]?.intValue }) {
            // Without ?item the best item so far: what a user most likely wants to take away.
            item = best
        } else {
            throw .conflict("no-history", "job \(record.id) is \(record.status.rawValue) and has no history item yet")
        }
        // The item's size and the table's are known before either is read or built: their bytes
        // are held from the node's budget first (an item of a distillation job carries megabytes
        // of learned rows, which the schedule does not need and which are skipped, not parsed).
        let outline = try storage { try store.historyOutline(jobID: record.id, after: item - 1, limit: 1) }.first {
            $0.metaIteration == item
        }
        guard let outline else {
            throw .conflict(
                "no-such-item",
                "job \(record.id) has no history item \(item) yet (\(record.progressDone) of \(record.progressTotal) written)"
            )
        }
        let job: any JobRun
        switch JobRequest.decodeJob(canonicalSpec: record.specJSON, datasets: StoreDatasetResolver(store: store)) {
        case .success(let decoded): job = decoded
        case .failure:
            // The spec was valid when submitted: its uploaded data set has since been deleted.
            throw .conflict(
                "dataset-gone",
                "the data set of job \(record.id) no longer exists, so its model's blocks cannot be rebuilt")
        }
        guard let run = job as? TuningRun else {
            throw .conflict(
                "no-schedule",
                "job \(record.id) is a weight_sharing job: its inner α and γ are constant, and what it learns, the "
                    + "transforms T_l, is in its history items and result")
        }
        let reservation = try reservePageMemory(
            Self.pageWorkingBytes + 2 * outline.itemBytes
                + Self.scheduleBytesPerCell * run.spec.training.iterations * run.architecture.blocks.count)
        defer { reservation.release() }
        let row = try storage { try store.history(jobID: record.id, after: item - 1, limit: 1) }.first {
            $0.metaIteration == item
        }
        guard let row, let (stored, _) = Self.scheduleMembers.read(row.itemJSON),
            let values = stored["hyperparameters"].flatMap(HyperparameterValues.init(json:))
        else { throw .storageUnavailable }
        guard let schedule = LearnedSchedule(run: run, values: values) else { throw .storageUnavailable }
        if format == "csv" {
            var headers = HTTPHeaders()
            headers.set("Content-Disposition", "attachment; filename=\"\(record.id)-item-\(item).csv\"")
            return HTTPResponse(
                status: .ok, headers: headers, text: schedule.csv(), contentType: "text/csv; charset=utf-8")
        }
        guard case .object(let table) = schedule.json() else { preconditionFailure("a schedule is a JSON object") }
        var top = JSONObject()
        top["job"] = .string(record.id)
        top["item"] = .number(Double(item))
        top["validation_loss"] = stored["validation_loss"] ?? .null
        top["validation_error"] = stored["validation_error"] ?? .null
        for (key, value) in table { top[key] = value }
        return .json(.object(top))
    }

    /// What a schedule export holds per (iteration, block) cell while it builds: the expanded
    /// step size, momentum and applied momentum as doubles, their JSON values and their text.
    static let scheduleBytesPerCell = 400

    /// The members of an item a schedule is built from (never its learned training rows).
    static let scheduleMembers = JSONMemberReader(
        paths: ["learning_rate", "momentum", "l2", "init_scale", "beta1", "beta2", "epsilon", "weight_decay"].map {
            ["hyperparameters", $0]
        } + [["validation_loss"], ["validation_error"]])
}
