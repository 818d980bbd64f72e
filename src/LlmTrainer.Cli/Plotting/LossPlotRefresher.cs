using LlmTrainer.Plotting;
using LlmTrainer.Progress;

namespace LlmTrainer.Cli.Plotting;

/// <summary>
/// Redraws <c>RUN/loss.png</c> after each evaluation of a training run. Drawing never stops training: the first failure is
/// reported once as a warning and later ones are silent.
/// </summary>
internal sealed class LossPlotRefresher(string runPath, IProgressReporter progress)
{
    public const string FileName = "loss.png";

    private bool warned;

    public string PlotPath => Path.Combine(runPath, FileName);

    public void Refresh()
    {
        try
        {
            if (!warned && LossPlot.MissingFontsNote() is { } note)
            {
                warned = true;
                progress.Warn($"{PlotPath}: {note}");
            }
            var curves = RunCurves.Read(runPath, PlotAxis.Step);
            if (!curves.IsEmpty) LossPlot.Save([curves], PlotPath, logX: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (warned) return;
            warned = true;
            progress.Warn($"could not draw {PlotPath} ({e.GetType().Name}: {e.Message}); training goes on without it");
        }
    }
}
