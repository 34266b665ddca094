/// Colours for plots: the Okabe–Ito set, which stays distinct under the common colour-vision
/// deficiencies, reordered so the first colours are the most distinct on white (yellow last).
public enum Palette {
    /// Series colours in the order series receive them.
    public static let series: [String] = [
        "#0072B2",  // blue
        "#E69F00",  // orange
        "#009E73",  // bluish green
        "#D55E00",  // vermillion
        "#CC79A7",  // reddish purple
        "#56B4E9",  // sky blue
        "#000000",  // black
        "#B8A000",  // yellow, darkened so a line shows on white
    ]

    /// The colour of series number `index`; past the end the colours repeat (dashes tell them apart).
    static func color(_ index: Int) -> String { series[index % series.count] }

    /// Axis lines, tick labels and titles.
    static let ink = "#1f2328"
    /// Secondary text: axis labels, subtitles.
    static let mutedInk = "#59636e"
    /// Grid lines behind the data.
    static let grid = "#e6e8eb"
    /// Plot background.
    static let background = "#ffffff"
    /// Font stack for every text element: the system's own sans-serif, nothing downloaded.
    static let fontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
}
