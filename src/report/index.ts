export { ReportBuilder, reportText, reportJson, type Report, type SectionGenerator, type SectionOutput } from './registry.js';
export { attachReports, reportBuilderFor, reportOptions, ReportService } from './service.js';
export { effectiveOptions, maskCommandLine, isSecretName } from './config.js';
