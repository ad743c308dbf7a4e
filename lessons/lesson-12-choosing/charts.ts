/**
 * The bench's figures as SVG charts, drawn by Apache ECharts' server-side renderer (no browser, no
 * canvas): one horizontal bar chart per figure, the rows as bars, the machine and the round-trip
 * time in the subtitle. The README embeds the files the bench writes in charts/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as echarts from "echarts";

export interface BarSeries {
  name: string;
  values: readonly number[];
}

export interface BarChart {
  /** The file name, without folder or extension: "request-latency-rtt150". */
  file: string;
  title: string;
  subtitle: string;
  /** The rows, top to bottom. */
  labels: readonly string[];
  series: readonly BarSeries[];
  /** The unit of the value axis: "ms", "bytes". */
  unit: string;
}

/** Renders `chart` as an SVG document. */
export function renderBarChart(chart: BarChart): string {
  const height = 120 + chart.labels.length * 28 * Math.max(1, chart.series.length * 0.7);
  const instance = echarts.init(null, null, { renderer: "svg", ssr: true, width: 820, height });
  instance.setOption({
    animation: false,
    backgroundColor: "#ffffff",
    title: { text: chart.title, subtext: chart.subtitle, left: "center" },
    legend: { top: 52, data: chart.series.map((s) => s.name) },
    grid: { left: 190, right: 70, top: 84, bottom: 30 },
    xAxis: { type: "value", name: chart.unit, nameLocation: "end" },
    // The first row on top, as in the printed table.
    yAxis: { type: "category", data: [...chart.labels], inverse: true },
    series: chart.series.map((s) => ({
      name: s.name,
      type: "bar",
      data: [...s.values],
      label: {
        show: true,
        position: "right",
        formatter: ({ value }: { value: number }) => format(value),
      },
    })),
  });
  const svg = instance.renderToSVGString();
  instance.dispose();
  return svg;
}

/** Writes each chart to `folder`/<file>.svg and returns the paths. */
export function writeCharts(folder: string, charts: readonly BarChart[]): string[] {
  mkdirSync(folder, { recursive: true });
  return charts.map((chart) => {
    const file = path.join(folder, `${chart.file}.svg`);
    writeFileSync(file, renderBarChart(chart));
    return file;
  });
}

function format(value: number): string {
  const decimals = Number.isInteger(value) || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", { maximumFractionDigits: decimals });
}
