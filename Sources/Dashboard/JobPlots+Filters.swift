import JSON

extension JobPlots {
    /// Whether the spec's network has a conv2d layer (and so a `filters` plot).
    static func hasConvolution(_ spec: JSONValue) -> Bool {
        spec["model"]?["layers"]?.arrayValue?.contains { $0["type"]?.stringValue == "conv2d" } ?? false
    }

    /// The first conv2d layer's trained filters (the final item's `first_conv_filters`) as a grid
    /// of kernel × kernel images on one signed colour scale: one image per filter, or per filter
    /// and input channel when there are several channels.
    static func filters(_ history: [JSONValue]) -> String {
        let title = title(of: "filters")
        guard let item = history.last(where: { $0["first_conv_filters"]?["values"]?.arrayValue != nil }),
            let filters = item["first_conv_filters"], let count = filters["filters"]?.intValue,
            let kernel = filters["kernel"]?.intValue, let channels = filters["channels"]?.intValue,
            let values = filters["values"]?.arrayValue, count > 0, kernel > 0, channels > 0,
            values.count == count * kernel * kernel * channels
        else {
            return SVGImageGrid(
                title: title, images: [], emptyMessage: "the trained filters come with the job's final item"
            ).render()
        }
        let numbers = values.map { HistoryValues.number($0) }
        var images: [SVGImageGrid.Image] = []
        for f in 0..<count {
            for c in 0..<channels {
                // values: (filter, ky, kx, channel); one channel's kernel × kernel plane.
                let plane = (0..<(kernel * kernel)).map { numbers[(f * kernel * kernel + $0) * channels + c] }
                let name = channels == 1 ? "filter \(f + 1)" : "filter \(f + 1), channel \(c + 1)"
                images.append(SVGImageGrid.Image(title: name, width: kernel, height: kernel, values: plane))
            }
        }
        return SVGImageGrid(
            title: title,
            subtitle: "conv2d_1 after training, meta-iteration \(Markup.integer(metaIteration(item))) (the final item)",
            images: images, colorScale: .diverging, columns: channels == 1 ? min(count, 8) : channels
        ).render()
    }
}
