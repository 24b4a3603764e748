import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface Series {
  label: string;
  color: string;
  values: number[];
}

/**
 * A line chart (uPlot: a canvas, fast with thousands of points). A canvas says nothing to a
 * screen reader, so the caller also shows the numbers as text; the figure is labelled.
 */
export function Chart({ times, series, label }: { times: number[]; series: Series[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const plot = new uPlot(
      {
        width: Math.max(300, element.clientWidth),
        height: 240,
        series: [{}, ...series.map((entry) => ({ label: entry.label, stroke: entry.color, width: 2 }))],
        axes: [{}, { size: 50 }],
      },
      [times, ...series.map((entry) => entry.values)],
      element,
    );
    const resize = () => plot.setSize({ width: Math.max(300, element.clientWidth), height: 240 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [times, series]);
  return <div ref={box} role="img" aria-label={label} />;
}
