import JSON

extension DashboardPages {
    /// A job chosen for comparison: its resource and its history items (any order).
    public struct ComparedJob {
        public var resource: JSONValue
        public var items: [JSONValue]

        public init(resource: JSONValue, items: [JSONValue]) {
            self.resource = resource
            self.items = items
        }
    }

    /// The most jobs one comparison draws (more lines than colours stop being readable).
    public static let maximumCompared = 8

    /// `GET /compare?jobs=A&jobs=B`: the chosen jobs' validation loss and error over meta-iterations
    /// overlaid, and a table of their best items; above them a form (a plain GET, no script) to
    /// choose among `choices`, the recent jobs.
    public static func compare(
        _ jobs: [ComparedJob], choices: [JSONValue], notice: String? = nil, csrfToken: String
    ) -> String {
        let chosen = Set(jobs.compactMap { $0.resource["id"]?.stringValue })
        let boxes = choices.map { job -> String in
            let id = job["id"]?.stringValue ?? ""
            let checked = chosen.contains(id) ? " checked" : ""
            return """
                <div><label><input type="checkbox" name="jobs" value="\(Markup.escape(id))"\(checked)> \
                \(Markup.escape(job["name"]?.stringValue ?? id)) \(badge(job["status"]?.stringValue ?? "unknown")) \
                <small class="muted mono">\(Markup.escape(id))</small></label></div>
                """
        }.joined(separator: "\n")
        var sections = ""
        if let notice { sections += "<div class=\"errors\" role=\"alert\">\(Markup.escape(notice))</div>\n" }
        if !jobs.isEmpty {
            sections += """
                <section class="card"><h2>Best items</h2>
                <table class="jobs">
                <thead><tr><th>Job</th><th>Status</th><th>Data set</th><th>Items</th><th>Best validation loss</th><th>Its validation error</th><th>Final validation loss</th></tr></thead>
                <tbody>
                \(jobs.enumerated().map { comparisonRow($1, index: $0) }.joined(separator: "\n"))
                </tbody>
                </table>
                </section>
                <section class="plots">
                <figure>\(overlay(jobs, key: "validation_loss", title: "Validation loss", logarithmic: true))</figure>
                <figure>\(overlay(jobs, key: "validation_error", title: "Validation error", logarithmic: false))</figure>
                </section>
                """
        }
        let body = """
            <main>
            <div class="title-row"><h1>Compare jobs</h1></div>
            \(sections)
            <section class="card">
            <h2>Choose jobs</h2>
            <form method="get" action="/compare">
            \(choices.isEmpty ? "<p class=\"muted\">No jobs yet.</p>" : boxes)
            <div class="actions"><button type="submit" class="primary">Compare</button>\
            <span class="muted">up to \(maximumCompared) jobs</span></div>
            </form>
            </section>
            </main>
            """
        return page(title: "Rewind · Compare jobs", body: body, scripts: [], csrfToken: csrfToken)
    }

    /// One job's row: its colour in the plots, status, data set, items, and its best numbers.
    static func comparisonRow(_ job: ComparedJob, index: Int) -> String {
        let resource = job.resource
        let id = resource["id"]?.stringValue ?? ""
        let name = resource["name"]?.stringValue ?? id
        let member = resource["dataset"] ?? resource["spec"]?["dataset"]
        let dataset = member?["name"]?.stringValue ?? member?["id"]?.stringValue ?? "–"
        let best = resource["best"]
        var bestText = Markup.significant(best?["validation_loss"]?.doubleValue)
        if let at = best?["meta_iteration"]?.doubleValue {
            bestText += " <small class=\"muted\">at \(Markup.integer(at))</small>"
        }
        let final = sorted(job.items).last
        // An SVG swatch, not a style attribute: the colour of this job's lines in the plots.
        let swatch =
            "<svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" rx=\"2\" fill=\"\(Palette.color(index))\"/></svg> "
        var reason = ""
        if let message = resource["error"]?["message"]?.stringValue {
            reason = "<div class=\"muted\">\(Markup.escape(message))</div>"
        }
        return """
            <tr><td>\(swatch)<a href="\(jobPath(id))">\(Markup.escape(name))</a><div class="muted mono">\(Markup.escape(id))</div></td>\
            <td>\(badge(resource["status"]?.stringValue ?? "unknown"))\(reason)</td><td>\(Markup.escape(dataset))</td>\
            <td class="num">\(job.items.count)</td><td class="num">\(bestText)</td>\
            <td class="num">\(Markup.percent(best?["validation_error"]?.doubleValue))</td>\
            <td class="num">\(Markup.significant(final?["validation_loss"]?.doubleValue))</td></tr>
            """
    }

    /// `key` of every job's items against the meta-iteration, one coloured line per job.
    static func overlay(_ jobs: [ComparedJob], key: String, title: String, logarithmic: Bool) -> String {
        let series = jobs.enumerated().map { index, job in
            let name = job.resource["name"]?.stringValue ?? job.resource["id"]?.stringValue ?? "job \(index)"
            return SVGLineChart.Series(
                name: name,
                points: sorted(job.items).map { item in
                    SVGLineChart.Point(
                        x: item["meta_iteration"]?.doubleValue ?? .nan, y: item[key]?.doubleValue ?? .nan)
                },
                colorIndex: index)
        }
        return SVGLineChart(
            title: title, xLabel: "meta-iteration", yLabel: title.lowercased(), series: series,
            logarithmicY: logarithmic, integerX: true
        ).render()
    }

    private static func sorted(_ items: [JSONValue]) -> [JSONValue] {
        items.sorted { ($0["meta_iteration"]?.doubleValue ?? 0) < ($1["meta_iteration"]?.doubleValue ?? 0) }
    }
}
