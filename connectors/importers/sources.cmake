# Sources of connectors/importers, listed for connectors/CMakeLists.txt.
set(SP_CONNECTORS_IMPORTERS_SRCS
  ${CMAKE_CURRENT_LIST_DIR}/click_importers.cc
  ${CMAKE_CURRENT_LIST_DIR}/csv_splitter.cc
  ${CMAKE_CURRENT_LIST_DIR}/gzip_line_reader.cc
  ${CMAKE_CURRENT_LIST_DIR}/import_report.cc
  ${CMAKE_CURRENT_LIST_DIR}/online_retail_importer.cc
  ${CMAKE_CURRENT_LIST_DIR}/time_text.cc
)
