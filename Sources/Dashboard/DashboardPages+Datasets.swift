import JSON

extension DashboardPages {
    /// `GET /datasets`: the built-in and uploaded data sets, and a form that uploads a CSV (a plain
    /// multipart POST to `/datasets`, no script). `notice` reports the last upload, `error` why it
    /// was refused.
    public static func datasets(
        _ datasets: [JSONValue], notice: String? = nil, error: String? = nil, csrfToken: String
    ) -> String {
        let rows = datasets.map { dataset -> String in
            let id = dataset["id"]?.stringValue ?? ""
            let name = dataset["name"]?.stringValue ?? id
            let builtin = dataset["builtin"]?.boolValue == true
            let use = "{\"dataset\": {\"name\": \"\(name)\"}}"
            return """
                <tr><td>\(Markup.escape(name))\(builtin ? " <small class=\"muted\">built in</small>" : "<div class=\"muted mono\">\(Markup.escape(id))</div>")</td>\
                <td class="num">\(Markup.integer(dataset["rows"]?.doubleValue))</td><td class="num">\(Markup.integer(dataset["features"]?.doubleValue))</td>\
                <td class="num">\(Markup.integer(dataset["classes"]?.doubleValue))</td><td><code>\(Markup.escape(use))</code></td></tr>
                """
        }.joined(separator: "\n")
        var messages = ""
        if let notice {
            messages += "<p id=\"upload-notice\" class=\"muted\" role=\"status\">\(Markup.escape(notice))</p>\n"
        }
        if let error {
            messages += "<div id=\"upload-error\" class=\"errors\" role=\"alert\">\(Markup.escape(error))</div>\n"
        }
        let body = """
            <main>
            <div class="title-row"><h1>Data sets</h1></div>
            \(messages)<table class="jobs">
            <thead><tr><th>Name</th><th>Rows</th><th>Features</th><th>Classes</th><th>In a job spec</th></tr></thead>
            <tbody>
            \(rows)
            </tbody>
            </table>
            <section class="card" id="upload">
            <h2>Upload a CSV</h2>
            <p class="muted">One example per line: the features as numbers, then the class label, an integer
            0..K−1 (every class present). A header line is allowed. The same file again finds the stored
            set; names are unique.</p>
            <form method="post" action="/datasets" enctype="multipart/form-data">
            \(csrfField(csrfToken))
            <div><label>File <input type="file" name="file" accept=".csv,text/csv" required></label></div>
            <div><label>Name <input type="text" name="name" placeholder="the file name"></label></div>
            <div class="actions"><button type="submit" class="primary">Upload</button></div>
            </form>
            </section>
            </main>
            """
        return page(title: "Rewind · Data sets", body: body, scripts: [], csrfToken: csrfToken)
    }
}
