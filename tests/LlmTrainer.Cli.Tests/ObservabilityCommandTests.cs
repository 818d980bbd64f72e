using System.Text.Json;
using System.Xml.Linq;
using LlmTrainer.Cli.Plotting;
using LlmTrainer.Data;
using LlmTrainer.Plotting;
using LlmTrainer.TensorBoard;
using LlmTrainer.Training;
using ScottPlot;
using SkiaSharp;

namespace LlmTrainer.Cli.Tests;

/// <summary>plot, runs and plan from the command line, and what a training run leaves to look at: loss.png and TensorBoard events.</summary>
public sealed class ObservabilityCommandTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("llmtrain-cli-observe-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>A run directory with a config and <paramref name="steps"/> logged steps of a falling loss, evaluated every 20.</summary>
    private string FakeRun(string name, int steps, int tokensPerStep = 2048)
    {
        var path = Path.Combine(root, name);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, RunDirectory.ConfigFileName), "{ \"name\": \"tiny\", \"vocab_size\": 2048, \"max_iters\": 100, \"warmup_iters\": 10 }");
        using var log = new MetricsLog(Path.Combine(path, MetricsLog.FileName));
        var random = new Random(name.Length);
        for (int s = 0; s <= steps; s++)
        {
            if (s % 20 == 0) log.Eval(new EvalMetrics(s, (long)s * tokensPerStep, 8 * Math.Exp(-s / 40.0) + 2));
            if (s > 0) log.Train(new TrainMetrics(s, 8 * Math.Exp(-s / 40.0) + 2 + random.NextDouble() * 0.3, 1e-3 * Math.Min(1, s / 10.0), 1,
                (long)s * tokensPerStep, 5000 + random.Next(500), 400));
        }
        return path;
    }

    /// <summary>The standard deviation of the image's grey levels (0 for a blank image), its colours and its share of non-white pixels.</summary>
    private static (int Width, int Height, double Spread, int Colors, double Inked) Inspect(string png)
    {
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        double sum = 0, squares = 0, inked = 0;
        var colors = new HashSet<uint>();
        for (int y = 0; y < bitmap.Height; y += 2)
        for (int x = 0; x < bitmap.Width; x += 2)
        {
            var c = bitmap.GetPixel(x, y);
            double grey = (c.Red + c.Green + c.Blue) / 3.0;
            sum += grey;
            squares += grey * grey;
            colors.Add((uint)c);
            if (grey < 250) inked++;
        }
        int n = ((bitmap.Height + 1) / 2) * ((bitmap.Width + 1) / 2);
        double mean = sum / n;
        return (bitmap.Width, bitmap.Height, Math.Sqrt(squares / n - mean * mean), colors.Count, inked / n);
    }

    [Fact]
    public void Plot_writes_a_png_that_is_not_blank()
    {
        var run = FakeRun("a", 100);
        var out1 = Path.Combine(root, "one.png");
        var (code, stdout, stderr) = CliRunner.Run("plot", run, "--out", out1);
        Assert.True(code == 0, stderr);
        Assert.Contains(out1, stdout);
        var (w, h, spread, colors, inked) = Inspect(out1);
        Assert.Equal((LossPlot.DefaultWidth, LossPlot.DefaultHeight), (w, h));
        Assert.True(spread > 20, $"grey-level spread {spread:F1}: the image looks blank");
        Assert.True(colors > 10, $"{colors} colours");
        Assert.True(inked > 0.02, $"{inked:P1} of the pixels are not white");

        // Without --out, one run's plot goes into the run as loss.png.
        Assert.Equal(0, CliRunner.Run("plot", run).ExitCode);
        Assert.True(Inspect(Path.Combine(run, "loss.png")).Spread > 20);
    }

    [Fact]
    public void Plot_overlays_several_runs_in_svg_against_tokens_on_a_log_axis()
    {
        var a = FakeRun("run-a", 100);
        var b = FakeRun("run-b", 60, tokensPerStep: 4096);
        var svg = Path.Combine(root, "both.svg");
        var (code, _, stderr) = CliRunner.Run("plot", a, b, "--out", svg, "--x", "tokens", "--log-x");
        Assert.True(code == 0, stderr);
        var doc = XDocument.Load(svg);
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        Assert.Equal(LossPlot.DefaultWidth.ToString(), doc.Root.Attribute("width")?.Value);
        Assert.True(doc.Descendants().Count(e => e.Name.LocalName == "path") > 50);
        var text = string.Concat(doc.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value));
        if (LossPlot.MissingFontsNote() is { } note)
        {
            // A system without fonts (a bare container): no text, and plot says why and what to install.
            Assert.Contains(note, stderr);
            return;
        }
        Assert.Contains("run-a", text); // the legend names the runs
        Assert.Contains("run-b", text);
        Assert.Contains("tokens", text);
    }

    [Fact]
    public void The_plotting_layer_gets_each_runs_series()
    {
        var a = RunCurves.Read(FakeRun("a", 100), PlotAxis.Tokens);
        var b = RunCurves.Read(FakeRun("b", 40), PlotAxis.Tokens);
        var multiplot = LossPlot.Build([a, b], logX: false);
        var panels = multiplot.GetPlots();
        Assert.Equal(3, panels.Length);
        var loss = panels[0].GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.Equal(6, loss.Count); // raw, smoothed and val per run
        void Same(Series expected, ScottPlot.Plottables.Scatter actual)
        {
            var points = actual.Data.GetScatterPoints();
            Assert.Equal(expected.X, points.Select(p => p.X));
            Assert.Equal(expected.Y, points.Select(p => p.Y));
        }
        Same(a.TrainLoss, loss[0]);
        Same(a.TrainLossSmoothed, loss[1]);
        Same(a.ValLoss, loss[2]);
        Same(b.ValLoss, loss[5]);
        Assert.Equal(100, a.TrainLoss.Count);
        Assert.Equal(6, a.ValLoss.Count);
        Assert.Equal(2048.0 * 100, a.TrainLoss.X[^1]);
        Assert.Equal(["a train (smoothed)", "a val", "b train (smoothed)", "b val"],
            loss.Select(s => s.LegendText).Where(t => t.Length > 0));
        Same(b.LearningRate, panels[1].GetPlottables().OfType<ScottPlot.Plottables.Scatter>().Last());
        Same(a.TokensPerSecond, panels[2].GetPlottables().OfType<ScottPlot.Plottables.Scatter>().First());
        // On a log axis the plot holds log10 of the positive x values (step 0's eval has none).
        var logged = LossPlot.Build([a], logX: true).GetPlot(0).GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.Equal(a.ValLoss.X.Where(x => x > 0).Select(Math.Log10), logged[2].Data.GetScatterPoints().Select(p => p.X));
    }

    [Fact]
    public void Plot_names_what_is_wrong()
    {
        var (code, _, stderr) = CliRunner.Run("plot", Path.Combine(root, "nothing"));
        Assert.Equal(1, code);
        Assert.Contains("metrics.jsonl", stderr);
        (code, _, stderr) = CliRunner.Run("plot", FakeRun("a", 10), "--out", Path.Combine(root, "x.jpg"));
        Assert.Equal(1, code);
        Assert.Contains(".png or .svg", stderr);
    }

    [Fact]
    public void Runs_prints_a_table_and_json()
    {
        FakeRun("older", 100);
        var newer = FakeRun("newer", 40);
        File.SetLastWriteTimeUtc(Path.Combine(root, "older", RunDirectory.ConfigFileName), DateTime.UtcNow.AddHours(-1));
        var (code, stdout, stderr) = CliRunner.Run("runs", root);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("run", lines[0]);
        Assert.StartsWith("newer", lines[1]);
        Assert.StartsWith("older", lines[2]);
        Assert.Contains("100/100", lines[2]);
        Assert.Contains("finished", lines[2]);
        Assert.Contains("40/100", lines[1]);
        Assert.Contains("stopped", lines[1]);

        (code, stdout, _) = CliRunner.Run("runs", root, "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(2, json.GetArrayLength());
        Assert.Equal("newer", json[0].GetProperty("name").GetString());
        Assert.Equal(40, json[0].GetProperty("step").GetInt64());
        Assert.Equal(2.0 + 8 * Math.Exp(-1), json[0].GetProperty("best_val_loss").GetDouble(), 1e-9);
        Assert.Equal(40, json[0].GetProperty("best_val_step").GetInt64());
        Assert.Equal(newer, json[0].GetProperty("path").GetString());
    }

    [Fact]
    public void Plan_prints_the_components_and_json()
    {
        var (code, stdout, stderr) = CliRunner.Run("plan", "--config", "500m", "--device", "h100-80gb");
        Assert.True(code == 0, stderr);
        foreach (var row in new[] { "weights", "gradients", "AdamW state", "bf16 weight copies", "activations", "logits", "CUDA allocator margin", "total", "largest batch_size", "assumed MFU of 40 %" })
            Assert.Contains(row, stdout);

        (code, stdout, _) = CliRunner.Run("plan", "--config", "tiny", "--device", "a100-40gb", "--batch_size", "8", "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(8, json.GetProperty("batch_size").GetInt32());
        Assert.Equal("bfloat16", json.GetProperty("dtype").GetString());
        Assert.True(json.GetProperty("fits").GetBoolean());
        Assert.True(json.GetProperty("max_batch_size").GetInt32() > 8);

        (code, _, stderr) = CliRunner.Run("plan", "--config", "tiny", "--device", "tpu");
        Assert.Equal(1, code);
        Assert.Contains("h100-80gb", stderr);
        (code, _, stderr) = CliRunner.Run("plan", "--config", "tiny", "--device", "cpu", "--mfu", "2");
        Assert.Equal(1, code);
        Assert.Contains("--mfu", stderr);
    }

    [Fact]
    public void A_training_run_leaves_loss_png_and_tensorboard_events()
    {
        var text = Path.Combine(root, "stories.txt");
        new SyntheticStories(3).WriteText(text, 400);
        var data = Path.Combine(root, "data");
        new PrepareJob(new PrepareOptions([text], data, VocabSize: 300, ValFraction: 0.05)).Run();
        var run = Path.Combine(root, "run");
        var (code, _, stderr) = CliRunner.Run("train", "--data", data, "--out_dir", run, "--max_iters", "6", "--batch_size", "4", "--block_size", "32",
            "--d_model", "32", "--n_layer", "2", "--n_head", "4", "--warmup_iters", "2", "--eval_interval", "3", "--eval_iters", "1", "--log_interval", "1");
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("could not draw", stderr);
        var png = Inspect(Path.Combine(run, "loss.png"));
        Assert.True(png.Spread > 10 && png.Inked > 0.02, $"grey-level spread {png.Spread:F1}, {png.Inked:P1} not white: the image looks blank");

        var events = EventFileWriter.Read(Assert.Single(EventFileWriter.Find(run)));
        var scalars = events.SelectMany(e => e.Scalars.Select(s => (e.Step, s.Tag, s.Value))).ToList();
        Assert.Equal([1L, 2, 3, 4, 5, 6], scalars.Where(s => s.Tag == "loss/train").Select(s => s.Step));
        Assert.Equal([0L, 3, 6], scalars.Where(s => s.Tag == "loss/val").Select(s => s.Step));
        var metrics = MetricsLog.Read(Path.Combine(run, MetricsLog.FileName));
        var lastLoss = metrics.Last(m => m.GetProperty("event").GetString() == "train").GetProperty("loss").GetDouble();
        Assert.Equal((float)lastLoss, scalars.Last(s => s.Tag == "loss/train").Value);
    }
}
