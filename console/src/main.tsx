import '@mantine/core/styles.css';
import 'uplot/dist/uPlot.min.css';
import { createTheme, MantineProvider, type CSSVariablesResolver } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';

/** Darker shades than the library's default, so that white text on a filled button meets WCAG AA (4.5:1). */
const theme = createTheme({ primaryShade: { light: 8, dark: 7 } });
/**
 * Secondary ("dimmed") text one shade darker than the library's gray 6, which is 3.3:1 on white;
 * a field's error text in the console's red (statusColor's), as the library's red 6 is 3.9:1.
 */
const variables: CSSVariablesResolver = () => ({ variables: {}, light: { '--mantine-color-dimmed': 'var(--mantine-color-gray-7)', '--mantine-color-error': '#a61b1b' }, dark: {} });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={variables} defaultColorScheme="light">
      <App />
    </MantineProvider>
  </StrictMode>,
);
