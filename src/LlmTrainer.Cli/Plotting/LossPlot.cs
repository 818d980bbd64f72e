using LlmTrainer.Plotting;
using ScottPlot;
using SkiaSharp;

namespace LlmTrainer.Cli.Plotting;

/// <summary>
/// Draws runs' curves with ScottPlot: the loss (each run's training loss as logged, faint, its smoothed curve, its
/// validation loss and, for a mixture, each dataset's; a dotted vertical line where a curriculum's stage begins) over the
/// whole width, and below it the learning rate and the throughput; one colour per run, with a
/// legend of run names. PNG or SVG by the file's extension.
/// </summary>
internal static class LossPlot
{
    public const int DefaultWidth = 1200, DefaultHeight = 900;

    /// <summary>The three panels (loss, learning rate, tokens/s) with the runs' series on them.</summary>
    public static Multiplot Build(IReadOnlyList<RunCurves> runs, bool logX)
    {
        if (runs.Count == 0) throw new ArgumentException("no runs to plot", nameof(runs));
        var axis = runs[0].Axis;
        var multiplot = new Multiplot();
        multiplot.AddPlots(3);
        var (loss, lr, speed) = (multiplot.GetPlot(0), multiplot.GetPlot(1), multiplot.GetPlot(2));
        var grid = new ScottPlot.MultiplotLayouts.CustomGrid();
        grid.Set(loss, new GridCell(0, 0, 3, 2, 2, 2));
        grid.Set(lr, new GridCell(2, 0, 3, 2, 1, 1));
        grid.Set(speed, new GridCell(2, 1, 3, 2, 1, 1));
        multiplot.Layout = grid;

        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var color = palette.GetColor(i);
            var raw = Line(loss, run.TrainLoss, logX, color.WithAlpha(0.5), markers: true, lineWidth: 0);
            raw.LegendText = "";
            // Short curves are not smoothed (RunCurves.SmoothingWeight): the line then joins the logged points.
            bool smoothed = RunCurves.SmoothingWeight(run.TrainLoss.Count) > 0;
            Line(loss, run.TrainLossSmoothed, logX, color, markers: false, lineWidth: 2).LegendText =
                (runs.Count == 1 ? "train" : $"{run.Name} train") + (smoothed ? " (smoothed)" : "");
            var val = Line(loss, run.ValLoss, logX, color, markers: true, lineWidth: 2);
            val.LinePattern = LinePattern.Dashed;
            val.MarkerShape = MarkerShape.OpenCircle;
            val.MarkerSize = 7;
            val.LegendText = runs.Count == 1 ? "val" : $"{run.Name} val";
            // A mixture's datasets: thin dotted lines in the run's colour, one marker shape each.
            MarkerShape[] shapes = [MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.Cross, MarkerShape.Eks];
            for (int j = 0; j < run.SourceValLoss.Count; j++)
            {
                var source = Line(loss, run.SourceValLoss[j], logX, color.WithAlpha(0.8), markers: true, lineWidth: 1);
                source.LinePattern = LinePattern.Dotted;
                source.MarkerShape = shapes[j % shapes.Length];
                source.LegendText = runs.Count == 1 ? $"val {run.SourceValLoss[j].Label}" : $"{run.Name} val {run.SourceValLoss[j].Label}";
            }
            foreach (var (at, stage) in run.StageStarts)
            {
                if (logX && at <= 0) continue;
                var boundary = loss.Add.VerticalLine(logX ? Math.Log10(at) : at, 1, color.WithAlpha(0.6), LinePattern.Dotted);
                boundary.Text = runs.Count == 1 ? $"stage {stage}" : $"{run.Name} stage {stage}";
                boundary.ExcludeFromLegend = true;
                boundary.LabelOppositeAxis = true; // above the plot, clear of the step labels
            }
            Line(lr, run.LearningRate, logX, color, markers: false, lineWidth: 2);
            Line(speed, run.TokensPerSecond, logX, color, markers: true, lineWidth: 1);
        }

        string xLabel = axis switch { PlotAxis.Tokens => "tokens", PlotAxis.Time => "hours", _ => "step" };
        loss.Title(runs.Count == 1 ? $"{runs[0].Name}: loss" : "loss");
        loss.YLabel("loss (nats/token)");
        loss.XLabel(xLabel);
        loss.ShowLegend(Alignment.UpperRight);
        lr.Title("learning rate");
        lr.XLabel(xLabel);
        speed.Title("tokens/s");
        speed.XLabel(xLabel);
        if (logX)
        {
            foreach (var plot in new[] { loss, lr, speed })
                plot.Axes.Bottom.TickGenerator = LogTicks();
        }
        return multiplot;
    }

    /// <summary>
    /// Why the plot would have no text, when that is so: the native library draws text with the system's fonts and finds none.
    /// </summary>
    public static string? MissingFontsNote() => SKTypeface.Default.GlyphCount == 0
        ? "no fonts are installed, so the plot has no text (titles, labels, legend); install a font package (fonts-dejavu-core on Debian and Ubuntu)"
        : null;

    /// <summary>Saves the plot as PNG or SVG (by <paramref name="path"/>'s extension), written to a temporary file and moved into place.</summary>
    public static void Save(IReadOnlyList<RunCurves> runs, string path, bool logX, int width = DefaultWidth, int height = DefaultHeight)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is not (".png" or ".svg"))
            throw new LlmTrainerException($"--out {path}: the plot is written as .png or .svg; give a file name ending in one of them.");
        var multiplot = Build(runs, logX);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.tmp-{Environment.ProcessId}{extension}");
        try
        {
            if (extension == ".png")
                multiplot.SavePng(temp, width, height);
            else
            {
                using (var stream = File.Create(temp))
                using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream))
                {
                    canvas.Clear(SKColors.White);
                    multiplot.Render(canvas, new PixelRect(0, width, height, 0));
                }
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static ScottPlot.Plottables.Scatter Line(Plot plot, Series series, bool logX, Color color, bool markers, float lineWidth)
    {
        var (xs, ys) = logX ? PositiveLog(series) : (series.X, series.Y);
        var scatter = plot.Add.Scatter(xs, ys, color);
        scatter.LineWidth = lineWidth;
        scatter.MarkerSize = markers ? 5 : 0;
        return scatter;
    }

    /// <summary>log10 of the positive x values (a log axis has no place for step 0).</summary>
    private static (double[] X, double[] Y) PositiveLog(Series s)
    {
        var keep = Enumerable.Range(0, s.Count).Where(i => s.X[i] > 0).ToArray();
        return (keep.Select(i => Math.Log10(s.X[i])).ToArray(), keep.Select(i => s.Y[i]).ToArray());
    }

    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = x => Commands.RunsCommand.Short(Math.Pow(10, x)),
    };
}
